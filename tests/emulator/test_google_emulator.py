"""The Google emulator, driven only by the real google-api-python-client and
google-auth-oauthlib over HTTP, behaves as Google documents: paging, sync tokens, recurring
instances, ids, etags, push channels, OAuth with PKCE, revocation and injected faults."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import id_token
from google_auth_oauthlib.flow import Flow
from googleapiclient.errors import HttpError

from calsync.emulator import GoogleEmulator
from tests.emulator.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    EMAIL,
    REDIRECT_URI,
    Receiver,
    calendar_service,
    credentials,
)

CALENDAR = "https://www.googleapis.com/auth/calendar"


def timed(day: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"summary": f"Meeting {day} {start}",
            "start": {"dateTime": f"{day}T{start}:00Z"},
            "end": {"dateTime": f"{day}T{end}:00Z"}, **extra}


def error_of(excinfo: pytest.ExceptionInfo[HttpError]) -> tuple[int, str, str]:
    body = json.loads(excinfo.value.content)["error"]
    return excinfo.value.resp.status, body["errors"][0]["reason"], body["message"]


def full_sync(service: Any, **params: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    page_token = None
    while True:
        page = service.events().list(calendarId="primary", pageToken=page_token,
                                     **params).execute()
        items += page["items"]
        page_token = page.get("nextPageToken")
        if not page_token:
            return items, page["nextSyncToken"]


# the discovery-built client reaches the emulator's paths


def test_api_endpoint_gives_googles_paths(google: GoogleEmulator, service: Any) -> None:
    service.events().list(calendarId="primary").execute()
    service.calendarList().list().execute()
    paths = [r.path for r in google.requests]
    assert paths == ["/calendar/v3/calendars/primary/events", "/calendar/v3/users/me/calendarList"]
    assert google.api_endpoint == f"{google.base_url}/calendar/v3/"


def test_calendar_list_pages_and_marks_primary(google: GoogleEmulator) -> None:
    google.add_account("bob@example.com", calendars=[
        {"id": f"team{n}@group.calendar.google.com", "summary": f"Team {n}"} for n in range(3)])
    service = calendar_service(google, credentials(
        google, google.issue_tokens("bob@example.com", CLIENT_ID)))
    first = service.calendarList().list(maxResults=2).execute()
    second = service.calendarList().list(maxResults=2, pageToken=first["nextPageToken"]).execute()
    entries = first["items"] + second["items"]
    assert "nextPageToken" not in second
    assert entries[0]["id"] == "bob@example.com" and entries[0]["primary"] is True
    assert entries[0]["accessRole"] == "owner"
    assert not any(e.get("primary") for e in entries[1:])
    assert all(e["timeZone"] for e in entries)


# events.list: paging and sync tokens


def test_paging_600_events_sync_token_only_on_last_page(google: GoogleEmulator,
                                                        service: Any) -> None:
    for n in range(600):
        google.add_event(EMAIL, timed(f"2025-01-{n % 28 + 1:02d}", "09:00", "10:00"))
    sizes, page_token = [], None
    while True:
        page = service.events().list(calendarId="primary", maxResults=250,
                                     pageToken=page_token).execute()
        sizes.append(len(page["items"]))
        page_token = page.get("nextPageToken")
        if page_token is None:
            assert page["nextSyncToken"]
            break
        assert "nextSyncToken" not in page
    assert sizes == [250, 250, 100]


def test_max_results_is_capped_at_2500(google: GoogleEmulator, service: Any) -> None:
    for _ in range(2501):
        google.add_event(EMAIL, timed("2025-02-03", "09:00", "10:00"))
    page = service.events().list(calendarId="primary", maxResults=5000).execute()
    assert len(page["items"]) == 2500 and "nextPageToken" in page


def test_incremental_sync_returns_exactly_the_changes(google: GoogleEmulator,
                                                      service: Any) -> None:
    kept, moved, gone = (google.add_event(EMAIL, timed("2025-03-03", f"{h}:00", f"{h}:30"))
                         for h in (10, 11, 12))
    items, token = full_sync(service)
    assert {e["id"] for e in items} == {kept["id"], moved["id"], gone["id"]}

    google.update_event(EMAIL, moved["id"], {"start": {"dateTime": "2025-03-04T11:00:00Z"},
                                             "end": {"dateTime": "2025-03-04T11:30:00Z"}})
    google.delete_event(EMAIL, gone["id"])
    added = service.events().insert(calendarId="primary",
                                    body=timed("2025-03-05", "09:00", "10:00")).execute()

    changes, token = full_sync(service, syncToken=token)
    by_id = {e["id"]: e for e in changes}
    assert set(by_id) == {moved["id"], gone["id"], added["id"]}
    assert by_id[gone["id"]]["status"] == "cancelled"
    assert by_id[moved["id"]]["start"]["dateTime"] == "2025-03-04T12:00:00+01:00"
    assert full_sync(service, syncToken=token)[0] == []


def test_full_sync_hides_tombstones_unless_show_deleted(google: GoogleEmulator,
                                                        service: Any) -> None:
    gone = google.add_event(EMAIL, timed("2025-03-03", "10:00", "11:00"))
    google.delete_event(EMAIL, gone["id"])
    assert full_sync(service)[0] == []
    shown = full_sync(service, showDeleted=True)[0]
    assert [(e["id"], e["status"]) for e in shown] == [(gone["id"], "cancelled")]


@pytest.mark.parametrize("param", [
    {"timeMin": "2025-01-01T00:00:00Z"}, {"timeMax": "2025-01-01T00:00:00Z"},
    {"orderBy": "updated"}, {"q": "acme"}, {"updatedMin": "2025-01-01T00:00:00Z"},
    {"iCalUID": "x@google.com"}, {"privateExtendedProperty": "calsync=1"},
    {"sharedExtendedProperty": "calsync=1"},
])
def test_sync_token_refuses_request_restrictions(service: Any, param: dict[str, str]) -> None:
    token = full_sync(service)[1]
    with pytest.raises(HttpError) as excinfo:
        service.events().list(calendarId="primary", syncToken=token, **param).execute()
    assert error_of(excinfo) == (400, "syncTokenWithRequestRestrictions",
                                 "Sync token cannot be used with other request restrictions.")


def test_expired_or_unknown_sync_token_is_410(google: GoogleEmulator, service: Any) -> None:
    token = full_sync(service)[1]
    google.expire_sync_tokens()
    for stale in (token, "not-a-token"):
        with pytest.raises(HttpError) as excinfo:
            service.events().list(calendarId="primary", syncToken=stale).execute()
        assert error_of(excinfo)[:2] == (410, "fullSyncRequired")
    assert full_sync(service)[1]  # a full sync hands out a new token


# recurring events and time bounds


def test_single_events_expands_weekly_rule_with_exdate_and_moved_instance(
        google: GoogleEmulator, service: Any) -> None:
    # Mondays 10:00 Berlin across the DST change of 30 March 2025.
    master = google.add_event(EMAIL, {
        "summary": "Weekly pipeline",
        "start": {"dateTime": "2025-03-17T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2025-03-17T10:30:00", "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5",
                       "EXDATE;TZID=Europe/Berlin:20250324T100000"]})
    base = master["id"]
    moved_id = f"{base}_20250331T080000Z"
    google.update_event(EMAIL, moved_id, {
        "start": {"dateTime": "2025-04-01T15:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2025-04-01T15:30:00", "timeZone": "Europe/Berlin"}})

    items = service.events().list(calendarId="primary", singleEvents=True,
                                  orderBy="startTime").execute()["items"]
    assert [e["id"] for e in items] == [f"{base}_20250317T090000Z", moved_id,
                                        f"{base}_20250407T080000Z", f"{base}_20250414T080000Z"]
    assert all(e["recurringEventId"] == base and "recurrence" not in e for e in items)
    assert items[0]["start"]["dateTime"] == "2025-03-17T10:00:00+01:00"
    assert items[2]["start"]["dateTime"] == "2025-04-07T10:00:00+02:00"
    assert items[1]["start"]["dateTime"] == "2025-04-01T15:00:00+02:00"
    assert items[1]["originalStartTime"]["dateTime"] == "2025-03-31T10:00:00+02:00"

    unexpanded = service.events().list(calendarId="primary").execute()["items"]
    assert sorted(e["id"] for e in unexpanded) == sorted([base, moved_id])


def test_all_day_instances_use_date_ids(google: GoogleEmulator, service: Any) -> None:
    master = google.add_event(EMAIL, {"summary": "Offsite", "start": {"date": "2025-05-05"},
                                      "end": {"date": "2025-05-06"},
                                      "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]})
    items = service.events().list(calendarId="primary", singleEvents=True).execute()["items"]
    assert [(e["id"], e["start"], e["originalStartTime"]) for e in items] == [
        (f"{master['id']}_20250505", {"date": "2025-05-05"}, {"date": "2025-05-05"}),
        (f"{master['id']}_20250506", {"date": "2025-05-06"}, {"date": "2025-05-06"})]


def test_time_min_bounds_end_and_time_max_bounds_start(google: GoogleEmulator,
                                                       service: Any) -> None:
    for start, end in (("09:00", "10:00"), ("10:00", "11:00"), ("11:00", "12:00")):
        google.add_event(EMAIL, timed("2025-06-02", start, end))
    items = service.events().list(calendarId="primary", timeMin="2025-06-02T10:00:00Z",
                                  timeMax="2025-06-02T11:00:00Z").execute()["items"]
    assert [e["summary"] for e in items] == ["Meeting 2025-06-02 10:00"]
    with pytest.raises(HttpError) as excinfo:
        service.events().list(calendarId="primary", timeMin="2025-06-02T11:00:00Z",
                              timeMax="2025-06-02T10:00:00Z").execute()
    assert error_of(excinfo)[:2] == (400, "timeRangeEmpty")
    with pytest.raises(HttpError) as excinfo:
        service.events().list(calendarId="primary", orderBy="startTime").execute()
    assert error_of(excinfo)[0] == 400


def test_private_extended_property_filter(service: Any) -> None:
    ours = service.events().insert(calendarId="primary", body=timed(
        "2025-07-01", "09:00", "10:00",
        extendedProperties={"private": {"calsync": "follow-up-7"}})).execute()
    service.events().insert(calendarId="primary",
                            body=timed("2025-07-01", "11:00", "12:00")).execute()
    found = service.events().list(calendarId="primary",
                                  privateExtendedProperty="calsync=follow-up-7").execute()
    assert [e["id"] for e in found["items"]] == [ours["id"]]
    assert found["items"][0]["extendedProperties"]["private"] == {"calsync": "follow-up-7"}


# writes: ids, etags, deletion


def test_insert_with_client_id_validates_like_google(service: Any) -> None:
    body = timed("2025-08-01", "09:00", "10:00", id="deal42touch3",
                 reminders={"useDefault": False, "overrides": [{"method": "popup",
                                                                "minutes": 5}]},
                 attendees=[{"email": "jane@acme.example"}, {"email": EMAIL}])
    created = service.events().insert(calendarId="primary", body=body).execute()
    assert created["id"] == "deal42touch3"
    assert created["etag"].startswith('"') and created["status"] == "confirmed"
    assert created["reminders"]["overrides"] == [{"method": "popup", "minutes": 5}]
    assert [a.get("self", False) for a in created["attendees"]] == [False, True]
    assert created["attendees"][0]["responseStatus"] == "needsAction"
    for bad in ("UPPERCASE1", "has_underscore", "wxyz00", "abc", "a" * 1025):
        with pytest.raises(HttpError) as excinfo:
            service.events().insert(calendarId="primary", body={**body, "id": bad}).execute()
        assert error_of(excinfo) == (400, "invalid", "Invalid resource id value.")


def test_duplicate_id_is_409_even_after_delete(service: Any) -> None:
    body = timed("2025-08-01", "09:00", "10:00", id="deal42dup01")
    service.events().insert(calendarId="primary", body=body).execute()
    for deleted in (False, True):
        if deleted:
            service.events().delete(calendarId="primary", eventId="deal42dup01").execute()
        with pytest.raises(HttpError) as excinfo:
            service.events().insert(calendarId="primary", body=body).execute()
        assert error_of(excinfo) == (409, "duplicate", "The requested identifier already exists.")


def test_patch_with_if_match_and_stale_etag(service: Any) -> None:
    event = service.events().insert(calendarId="primary",
                                    body=timed("2025-08-01", "09:00", "10:00")).execute()
    request = service.events().patch(calendarId="primary", eventId=event["id"],
                                     body={"summary": "Renamed"})
    request.headers["If-Match"] = event["etag"]
    patched = request.execute()
    assert patched["summary"] == "Renamed" and patched["etag"] != event["etag"]
    assert patched["start"] == event["start"]
    stale = service.events().patch(calendarId="primary", eventId=event["id"],
                                   body={"summary": "Lost update"})
    stale.headers["If-Match"] = event["etag"]
    with pytest.raises(HttpError) as excinfo:
        stale.execute()
    assert error_of(excinfo) == (412, "conditionNotMet", "Precondition Failed")


def test_put_replaces_and_bumps_sequence(service: Any) -> None:
    event = service.events().insert(calendarId="primary", body=timed(
        "2025-08-01", "09:00", "10:00", description="old")).execute()
    replaced = service.events().update(calendarId="primary", eventId=event["id"],
                                       body=timed("2025-08-02", "09:00", "10:00")).execute()
    assert "description" not in replaced
    assert replaced["sequence"] == 1 and replaced["created"] == event["created"]


def test_delete_twice_is_410_and_unknown_is_404(service: Any) -> None:
    event = service.events().insert(calendarId="primary",
                                    body=timed("2025-08-01", "09:00", "10:00")).execute()
    service.events().delete(calendarId="primary", eventId=event["id"]).execute()
    with pytest.raises(HttpError) as excinfo:
        service.events().delete(calendarId="primary", eventId=event["id"]).execute()
    assert error_of(excinfo) == (410, "deleted", "Resource has been deleted")
    with pytest.raises(HttpError) as excinfo:
        service.events().get(calendarId="primary", eventId="nosuchevent1").execute()
    assert error_of(excinfo) == (404, "notFound", "Not Found")
    with pytest.raises(HttpError) as excinfo:
        service.events().list(calendarId="someone.else@example.com").execute()
    assert error_of(excinfo)[0] == 404


def test_insert_validation_errors(service: Any) -> None:
    cases = [
        ({"start": {"dateTime": "2025-08-01T09:00:00Z"}}, "Missing end time."),
        (timed("2025-08-01", "10:00", "09:00"), "The specified time range is empty."),
        ({"start": {"dateTime": "2025-08-01T09:00:00"}, "end": {"dateTime": "2025-08-01T10:00:00"}},
         "Missing time zone definition for start time."),
    ]
    for body, message in cases:
        with pytest.raises(HttpError) as excinfo:
            service.events().insert(calendarId="primary", body=body).execute()
        assert error_of(excinfo)[0] == 400 and error_of(excinfo)[2] == message


# push notifications


def test_watch_handshake_change_notification_and_stop(google: GoogleEmulator, service: Any,
                                                      receiver: Receiver) -> None:
    event = google.add_event(EMAIL, timed("2025-09-01", "09:00", "10:00"))
    channel = service.events().watch(calendarId="primary", body={
        "id": "channel-1", "type": "web_hook", "address": receiver.url, "token": "s3cret",
        "params": {"ttl": "3600"}}).execute()
    assert channel["kind"] == "api#channel" and channel["id"] == "channel-1"
    assert channel["token"] == "s3cret" and int(channel["expiration"]) > 0
    assert channel["resourceUri"].startswith(google.api_endpoint)

    google.update_event(EMAIL, event["id"], {"summary": "Moved by the user"})
    sent = google.wait_for_notifications(2)
    assert [(n.resource_state, n.message_number, n.status) for n in sent] == [
        ("sync", 1, 200), ("exists", 2, 200)]
    handshake, change = receiver.received
    assert handshake["x-goog-resource-state"] == "sync"
    assert handshake["x-goog-message-number"] == "1"
    for headers in (handshake, change):
        assert headers["x-goog-channel-id"] == "channel-1"
        assert headers["x-goog-channel-token"] == "s3cret"
        assert headers["x-goog-resource-id"] == channel["resourceId"]
        assert headers["x-goog-resource-uri"] == channel["resourceUri"]
        assert headers["x-goog-channel-expiration"].endswith("GMT")
    assert change["x-goog-resource-state"] == "exists"
    assert change["x-goog-message-number"] == "2"

    service.channels().stop(body={"id": "channel-1",
                                  "resourceId": channel["resourceId"]}).execute()
    google.delete_event(EMAIL, event["id"])
    assert len(google.wait_for_notifications(3, timeout=0.3)) == 2
    with pytest.raises(HttpError) as excinfo:
        service.channels().stop(body={"id": "channel-1",
                                      "resourceId": channel["resourceId"]}).execute()
    assert error_of(excinfo)[:2] == (404, "notFound")


def test_watch_refuses_http_unless_allowed(receiver: Receiver) -> None:
    with GoogleEmulator(allow_http_webhooks=False) as strict:
        strict.add_account(EMAIL)
        service = calendar_service(strict, credentials(strict, strict.issue_tokens(
            EMAIL, CLIENT_ID)))
        with pytest.raises(HttpError) as excinfo:
            service.events().watch(calendarId="primary", body={
                "id": "c1", "type": "web_hook", "address": receiver.url}).execute()
        status, _, message = error_of(excinfo)
        assert status == 400 and message == f"WebHook callback must be HTTPS: {receiver.url}"


# OAuth


@pytest.fixture
def insecure_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


def make_flow(google: GoogleEmulator, scopes: list[str]) -> Flow:
    return Flow.from_client_config(
        google.client_config(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI]), scopes=scopes,
        redirect_uri=REDIRECT_URI, autogenerate_code_verifier=True)


def consent(flow: Flow, **params: str) -> dict[str, list[str]]:
    url, state = flow.authorization_url(**params)
    response = requests.get(url + "&auto=1", allow_redirects=False, timeout=5)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return query


@pytest.mark.usefixtures("insecure_loopback")
def test_oauth_flow_with_pkce_refresh_and_id_token(google: GoogleEmulator) -> None:
    flow = make_flow(google, [CALENDAR, "openid", "email"])
    query = consent(flow, access_type="offline", prompt="consent")
    token = flow.fetch_token(code=query["code"][0])
    assert token["refresh_token"] and token["token_type"] == "Bearer"
    claims = id_token.verify_token(token["id_token"], AuthRequest(), audience=CLIENT_ID,
                                   certs_url=google.certs_uri)
    assert claims["email"] == EMAIL and claims["email_verified"] is True
    assert claims["iss"] == "https://accounts.google.com" and claims["sub"].isdigit()

    creds = flow.credentials
    service = calendar_service(google, creds)
    assert service.calendarList().list().execute()["items"][0]["id"] == EMAIL
    old = creds.token
    creds.refresh(AuthRequest())
    assert creds.token != old
    assert service.events().list(calendarId="primary").execute()["items"] == []

    # a second consent without prompt=consent gets no new refresh token, as with Google
    again = make_flow(google, [CALENDAR])
    second = again.fetch_token(code=consent(again, access_type="offline")["code"][0])
    assert "refresh_token" not in second
    # a code works once
    with pytest.raises(Exception, match="invalid_grant"):
        flow.fetch_token(code=query["code"][0])


@pytest.mark.usefixtures("insecure_loopback")
def test_token_endpoint_errors_match_google(google: GoogleEmulator) -> None:
    flow = make_flow(google, [CALENDAR])
    code = consent(flow, access_type="offline")["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    missing = requests.post(google.token_uri, data=form, timeout=5)
    assert missing.status_code == 400
    assert missing.json() == {"error": "invalid_grant",
                              "error_description": "Missing code verifier."}
    wrong = requests.post(google.token_uri, data={**form, "client_secret": "nope"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unknown = requests.post(google.token_uri, data={**form, "client_id": "who"}, timeout=5)
    assert unknown.json() == {"error": "invalid_client",
                              "error_description": "The OAuth client was not found."}


def test_authorization_endpoint_pages(google: GoogleEmulator) -> None:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
              "scope": CALENDAR, "state": "xyz", "login_hint": EMAIL}
    page = requests.get(google.auth_uri, params=params, timeout=5)
    assert page.status_code == 200 and EMAIL in page.text and "Allow" in page.text
    allowed = requests.post(google.auth_uri, data={**params, "decision": "allow"},
                            allow_redirects=False, timeout=5)
    assert parse_qs(urlsplit(allowed.headers["Location"]).query)["scope"] == [CALENDAR]
    denied = requests.post(google.auth_uri, data={**params, "decision": "deny"},
                           allow_redirects=False, timeout=5)
    assert parse_qs(urlsplit(denied.headers["Location"]).query) == {
        "error": ["access_denied"], "state": ["xyz"]}
    mismatch = requests.get(google.auth_uri, timeout=5, allow_redirects=False,
                            params={**params, "redirect_uri": "https://evil.example/cb"})
    assert mismatch.status_code == 400 and "redirect_uri_mismatch" in mismatch.text


@pytest.mark.usefixtures("insecure_loopback")
def test_partial_consent_grants_less_and_writes_are_refused(google: GoogleEmulator) -> None:
    google.deny_scopes(CALENDAR)
    flow = make_flow(google, [CALENDAR, "https://www.googleapis.com/auth/calendar.readonly"])
    query = consent(flow, access_type="offline")
    assert query["scope"] == ["https://www.googleapis.com/auth/calendar.readonly"]
    flow.fetch_token(code=query["code"][0])
    service = calendar_service(google, flow.credentials)
    service.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as excinfo:
        service.events().insert(calendarId="primary",
                                body=timed("2025-08-01", "09:00", "10:00")).execute()
    assert error_of(excinfo)[:2] == (403, "insufficientPermissions")


def test_expired_access_token_is_refreshed_by_the_client(google: GoogleEmulator,
                                                         service: Any) -> None:
    google.expire_access_tokens()
    service.events().list(calendarId="primary").execute()
    assert [r.path for r in google.requests] == [
        "/calendar/v3/calendars/primary/events", "/token",
        "/calendar/v3/calendars/primary/events"]


def test_revoked_grant_refresh_fails_and_api_is_401(google: GoogleEmulator) -> None:
    tokens = google.issue_tokens(EMAIL, CLIENT_ID)
    creds = credentials(google, tokens)
    google.revoke_grant(EMAIL)
    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(AuthRequest())
    # googleapiclient would try to refresh on the 401; ask plainly to see Google's body
    answer = requests.get(f"{google.api_endpoint}calendars/primary/events", timeout=5,
                          headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert answer.status_code == 401
    assert answer.json()["error"]["errors"][0] == {
        "domain": "global", "reason": "authError", "message": "Invalid Credentials",
        "locationType": "header", "location": "Authorization"}


def test_revoke_endpoint_kills_the_grant(google: GoogleEmulator) -> None:
    tokens = google.issue_tokens(EMAIL, CLIENT_ID)
    assert requests.post(google.revoke_uri, data={"token": tokens["access_token"]},
                         timeout=5).status_code == 200
    again = requests.post(google.revoke_uri, params={"token": tokens["refresh_token"]}, timeout=5)
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"
    refreshed = requests.post(google.token_uri, timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert refreshed.json() == {"error": "invalid_grant",
                                "error_description": "Token has been expired or revoked."}


# fault injection


def test_injected_faults_then_success_with_client_retries(google: GoogleEmulator,
                                                          service: Any) -> None:
    google.fail_next(1, 429, "rateLimitExceeded")
    google.fail_next(1, 403, "rateLimitExceeded")
    google.fail_next(1, 500, "backendError")
    request = service.events().list(calendarId="primary")
    request._sleep = lambda seconds: None  # the client's own seam for its backoff sleeps
    assert request.execute(num_retries=3)["items"] == []
    assert len(google.requests) == 4


def test_injected_fault_bodies(google: GoogleEmulator, service: Any) -> None:
    google.fail_next(1, 403, "rateLimitExceeded", path_contains="/events")
    with pytest.raises(HttpError) as excinfo:
        service.events().list(calendarId="primary").execute()
    body = json.loads(excinfo.value.content)["error"]
    assert body["errors"][0] == {"domain": "usageLimits", "reason": "rateLimitExceeded",
                                 "message": "Rate Limit Exceeded"}
    google.fail_next(1, 503, "backendError")
    with pytest.raises(HttpError) as excinfo:
        service.calendarList().list().execute()
    assert error_of(excinfo)[:2] == (503, "backendError")
    assert service.calendarList().list().execute()["items"]


def test_deleting_one_instance_syncs_as_an_instance_tombstone(google: GoogleEmulator,
                                                              service: Any) -> None:
    master = google.add_event(EMAIL, {
        "summary": "Daily stand-up", "start": {"dateTime": "2025-10-06T09:00:00Z"},
        "end": {"dateTime": "2025-10-06T09:15:00Z"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]})
    items, token = full_sync(service, singleEvents=True)
    assert len(items) == 3
    service.events().delete(calendarId="primary",
                            eventId=f"{master['id']}_20251007T090000Z").execute()
    changes, _ = full_sync(service, singleEvents=True, syncToken=token)
    assert changes == [{
        "kind": "calendar#event", "etag": changes[0]["etag"],
        "id": f"{master['id']}_20251007T090000Z", "status": "cancelled",
        "recurringEventId": master["id"],
        "originalStartTime": {"dateTime": "2025-10-07T11:00:00+02:00"}}]
    assert len(full_sync(service, singleEvents=True)[0]) == 2

"""The Microsoft emulator's Graph calendars, over TLS with requests as calsync calls them:
calendars, calendarView/delta rounds (paging, delta links, @removed, 410), occurrences and
exceptions, time zones, idempotent creates, etags, deletes and throttling."""

from __future__ import annotations

from typing import Any

from calsync.emulator.microsoft import MicrosoftEmulator
from tests.servers.microsoft import CLIENT_ID, EMAIL, graph

WINDOW = "startDateTime=2025-03-01T00:00:00Z&endDateTime=2025-05-01T00:00:00Z"
PROPERTY = "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name calsyncFollowUp"


def meeting(day: str, start: str, end: str, zone: str = "UTC", **extra: Any) -> dict[str, Any]:
    return {"subject": f"Meeting {day} {start}",
            "start": {"dateTime": f"{day}T{start}:00", "timeZone": zone},
            "end": {"dateTime": f"{day}T{end}:00", "timeZone": zone}, **extra}


def delta_round(microsoft: MicrosoftEmulator, token: str, first: str, page_size: int = 10,
                zone: str = "") -> tuple[list[dict[str, Any]], str, list[int]]:
    """Every page of one round: the items, the deltaLink, and each page's size."""
    prefer = [f"odata.maxpagesize={page_size}"] + ([f'outlook.timezone="{zone}"'] if zone else [])
    items: list[dict[str, Any]] = []
    sizes: list[int] = []
    url = first
    while True:
        answer = graph(microsoft, "GET", url, token, headers={"Prefer": ", ".join(prefer)})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["value"]
        sizes.append(len(body["value"]))
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], sizes
        url = body["@odata.nextLink"]


def test_calendars_page_ten_at_a_time(microsoft: MicrosoftEmulator) -> None:
    microsoft.add_account("bob@contoso.example", [f"Team {n}" for n in range(11)])
    token = microsoft.issue_tokens("bob@contoso.example", CLIENT_ID)["access_token"]
    first = graph(microsoft, "GET", "me/calendars", token).json()
    second = graph(microsoft, "GET", first["@odata.nextLink"], token).json()
    names = [c["name"] for c in first["value"] + second["value"]]
    assert len(first["value"]) == 10 and "@odata.nextLink" not in second
    assert names == ["Calendar", *(f"Team {n}" for n in range(11))]
    assert [c["isDefaultCalendar"] for c in first["value"][:2]] == [True, False]
    assert graph(microsoft, "GET", "me/calendar", token).json()["name"] == "Calendar"


def test_delta_pages_then_an_idle_delta_link_is_one_request(microsoft: MicrosoftEmulator,
                                                            token: str) -> None:
    work = microsoft.calendar_ids(EMAIL)[0]
    for n in range(25):
        microsoft.add_event(work, meeting(f"2025-03-{n + 1:02d}", "09:00", "10:00"))
    microsoft.add_event(work, meeting("2025-06-02", "09:00", "10:00"))  # outside the window
    items, link, sizes = delta_round(
        microsoft, token, f"me/calendars/{work}/calendarView/delta?{WINDOW}")
    assert sizes == [10, 10, 5] and len({i["id"] for i in items}) == 25
    assert all(i["@odata.type"] == "#microsoft.graph.event" and i["type"] == "singleInstance"
               for i in items)
    assert items[0]["start"] == {"dateTime": "2025-03-01T09:00:00.0000000", "timeZone": "UTC"}

    before = len(microsoft.requests)
    idle = graph(microsoft, "GET", link, token, headers={"Prefer": "odata.maxpagesize=10"})
    assert idle.json()["value"] == [] and "@odata.deltaLink" in idle.json()
    assert idle.headers["Preference-Applied"] == "odata.maxpagesize=10"
    assert len(microsoft.requests) == before + 1


def test_delta_link_returns_changes_and_removals(microsoft: MicrosoftEmulator,
                                                 token: str) -> None:
    work = microsoft.calendar_ids(EMAIL)[0]
    kept, moved, gone, leaving = (
        microsoft.add_event(work, meeting("2025-03-03", f"{h}:00", f"{h}:30"))
        for h in (10, 11, 12, 13))
    _, link, _ = delta_round(microsoft, token, f"me/calendars/{work}/calendarView/delta?{WINDOW}")

    microsoft.update_event(work, moved["id"], {"start": {"dateTime": "2025-03-04T11:00:00",
                                                         "timeZone": "UTC"},
                                               "end": {"dateTime": "2025-03-04T11:30:00",
                                                       "timeZone": "UTC"}})
    microsoft.delete_event(work, gone["id"])
    microsoft.update_event(work, leaving["id"], meeting("2025-07-01", "09:00", "10:00"))
    added = graph(microsoft, "POST", f"me/calendars/{work}/events", token,
                  json=meeting("2025-03-05", "09:00", "10:00")).json()
    far = microsoft.add_event(work, meeting("2025-08-01", "09:00", "10:00"))

    changes, link, _ = delta_round(microsoft, token, link)
    removed = {c["id"] for c in changes if "@removed" in c}
    changed = {c["id"]: c for c in changes if "@removed" not in c}
    assert set(changed) == {moved["id"], added["id"]}
    assert changed[moved["id"]]["start"]["dateTime"] == "2025-03-04T11:00:00.0000000"
    # Graph reports what left the window, and what changed outside it, as removed
    assert removed == {gone["id"], leaving["id"], far["id"]}
    assert all(c["@removed"] == {"reason": "deleted"} for c in changes if "@removed" in c)
    assert kept["id"] not in changed
    assert delta_round(microsoft, token, link)[0] == []


def test_expired_delta_token_is_410_with_where_to_start_again(microsoft: MicrosoftEmulator,
                                                              token: str) -> None:
    work = microsoft.calendar_ids(EMAIL)[0]
    microsoft.add_event(work, meeting("2025-03-03", "10:00", "11:00"))
    _, link, _ = delta_round(microsoft, token, f"me/calendars/{work}/calendarView/delta?{WINDOW}")
    microsoft.expire_delta_tokens()
    gone = graph(microsoft, "GET", link, token)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "syncStateNotFound"
    restart = gone.headers["Location"]
    assert "$deltatoken" not in restart and "startDateTime=2025-03-01T00%3A00%3A00Z" in restart
    items, _, _ = delta_round(microsoft, token, restart)
    assert [i["subject"] for i in items] == ["Meeting 2025-03-03 10:00"]
    assert graph(microsoft, "GET", f"me/calendars/{work}/calendarView/delta?$deltatoken=nope",
                 token).status_code == 410


def test_series_occurrences_exceptions_and_time_zones(microsoft: MicrosoftEmulator,
                                                      token: str) -> None:
    work = microsoft.calendar_ids(EMAIL)[0]
    # Mondays 10:00 in Berlin (a Windows zone name) across the DST change of 30 March 2025.
    master = microsoft.add_event(work, {**meeting("2025-03-17", "10:00", "10:30",
                                                  "W. Europe Standard Time"),
                                        "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "startDate": "2025-03-17", "numberOfOccurrences": 4}}})
    items, link, _ = delta_round(microsoft, token,
                                 f"me/calendars/{work}/calendarView/delta?{WINDOW}",
                                 zone="W. Europe Standard Time")
    assert [(i["type"], i["seriesMasterId"]) for i in items] == [("occurrence", master["id"])] * 4
    assert [i["originalStart"] for i in items] == [
        "2025-03-17T09:00:00Z", "2025-03-24T09:00:00Z", "2025-03-31T08:00:00Z",
        "2025-04-07T08:00:00Z"]
    assert {i["start"]["dateTime"] for i in items} == {
        f"2025-{d}T10:00:00.0000000" for d in ("03-17", "03-24", "03-31", "04-07")}
    assert items[0]["start"]["timeZone"] == "W. Europe Standard Time"
    assert items[0]["originalStartTimeZone"] == "W. Europe Standard Time"

    moved, cancelled = items[1], items[2]
    microsoft.update_event(work, moved["id"], {
        "start": {"dateTime": "2025-03-25T15:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2025-03-25T15:30:00", "timeZone": "W. Europe Standard Time"}})
    assert graph(microsoft, "DELETE", f"me/events/{cancelled['id']}", token).status_code == 204
    changes, _, _ = delta_round(microsoft, token, link)
    assert [c["id"] for c in changes if "@removed" in c] == [cancelled["id"]]
    exception = next(c for c in changes if "@removed" not in c)
    assert exception["id"] == moved["id"] and exception["type"] == "exception"
    assert exception["originalStart"] == "2025-03-24T09:00:00Z"
    assert exception["start"] == {"dateTime": "2025-03-25T14:00:00.0000000", "timeZone": "UTC"}


def test_create_is_idempotent_by_transaction_id(microsoft: MicrosoftEmulator,
                                                token: str) -> None:
    team = microsoft.calendar_ids(EMAIL)[1]
    body = meeting("2025-04-02", "09:00", "09:30", "Pacific Standard Time",
                   transactionId="calsync-followup-42",
                   singleValueExtendedProperties=[{"id": PROPERTY, "value": "followup-42"}])
    first = graph(microsoft, "POST", f"me/calendars/{team}/events", token, json=body)
    again = graph(microsoft, "POST", f"me/calendars/{team}/events", token, json=body)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert len(microsoft.events(team)) == 1
    created = first.json()
    assert created["transactionId"] == "calsync-followup-42"
    assert created["start"] == {"dateTime": "2025-04-02T16:00:00.0000000", "timeZone": "UTC"}
    assert "singleValueExtendedProperties" not in created
    expand = f"singleValueExtendedProperties($filter=id eq '{PROPERTY}')"
    fetched = graph(microsoft, "GET", f"me/events/{created['id']}", token,
                    params={"$expand": expand}).json()
    assert fetched["singleValueExtendedProperties"] == [{"id": PROPERTY, "value": "followup-42"}]


def test_patch_with_if_match_and_delete(microsoft: MicrosoftEmulator, token: str) -> None:
    created = graph(microsoft, "POST", "me/events", token,
                    json=meeting("2025-04-02", "09:00", "09:30")).json()
    path = f"me/events/{created['id']}"
    renamed = graph(microsoft, "PATCH", path, token, json={"subject": "Renamed"},
                    headers={"If-Match": created["@odata.etag"]})
    assert renamed.status_code == 200 and renamed.json()["subject"] == "Renamed"
    assert renamed.json()["@odata.etag"] != created["@odata.etag"]
    stale = graph(microsoft, "PATCH", path, token, json={"subject": "Lost update"},
                  headers={"If-Match": created["@odata.etag"]})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "ErrorIrresolvableConflict"
    assert graph(microsoft, "DELETE", path, token).status_code == 204
    again = graph(microsoft, "DELETE", path, token)
    assert again.status_code == 404 and again.json()["error"]["code"] == "ErrorItemNotFound"


def test_throttling_with_retry_after_then_success(microsoft: MicrosoftEmulator,
                                                  token: str) -> None:
    microsoft.fail_next(2, 429, retry_after=7)
    for _ in range(2):
        throttled = graph(microsoft, "GET", "me/calendars", token)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
        assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert graph(microsoft, "GET", "me/calendars", token).status_code == 200
    microsoft.fail_next(1, 503, retry_after=3)
    assert graph(microsoft, "GET", "me", token).headers["Retry-After"] == "3"


def test_bad_time_zone_and_missing_window(microsoft: MicrosoftEmulator, token: str) -> None:
    refused = graph(microsoft, "POST", "me/events", token,
                    json=meeting("2025-04-02", "09:00", "09:30", "Mars/Olympus"))
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "TimeZoneNotSupportedException"
    assert graph(microsoft, "GET", "me/calendarView/delta", token).status_code == 400


def test_calendar_view_pages_with_occurrences(microsoft: MicrosoftEmulator, token: str) -> None:
    work = microsoft.calendar_ids(EMAIL)[0]
    microsoft.add_event(work, {**meeting("2025-03-03", "08:00", "08:15"), "recurrence": {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "endDate", "startDate": "2025-03-03", "endDate": "2025-03-14"}}})
    microsoft.add_event(work, meeting("2025-03-05", "12:00", "13:00"))
    first = graph(microsoft, "GET", f"me/calendars/{work}/calendarView?{WINDOW}", token).json()
    second = graph(microsoft, "GET", first["@odata.nextLink"], token).json()
    items = first["value"] + second["value"]
    assert len(first["value"]) == 10 and "@odata.nextLink" not in second
    assert [i["type"] for i in items].count("occurrence") == 12
    assert items[3]["subject"] == "Meeting 2025-03-05 12:00"  # in start order

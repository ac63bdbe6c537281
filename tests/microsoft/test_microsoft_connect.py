"""Connecting Microsoft 365 / Outlook from the Calendars page, the whole OAuth round trip
through msal against the emulator: the source, its sealed tokens, its first sync; a
reconnect; a callback from another browser; sign in by a verified email only."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync import crypto
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.models import Meeting, OAuthState, Source, User
from tests.conftest import csrf_from
from tests.microsoft.mscal import endpoints, hour, timed
from tests.servers.microsoft import EMAIL

# msal recommends form_post; calsync's callback takes the query Microsoft also supports.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post':UserWarning")


@pytest.fixture
def browser(emulator: MicrosoftEmulator) -> Iterator[requests.Session]:
    """What the user's browser does at Microsoft: the consent page redirects back."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emulator.ca_path)
    yield session
    session.close()


def start(client: FlaskClient, action: str, page: str = "/sources") -> str:
    token = csrf_from(client.get(page).get_data(as_text=True))
    response = client.post(action, data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return str(response.headers["Location"])


def consent(browser: requests.Session, emulator: MicrosoftEmulator, location: str) -> str:
    assert location.startswith(emulator.authority() + "/oauth2/v2.0/authorize"), location
    asked = parse_qs(urlsplit(location).query)
    assert asked["code_challenge_method"] == ["S256"]
    assert set(asked["scope"][0].split()) >= {"offline_access", "openid", "email",
                                              "Calendars.ReadWrite", "User.Read"}
    answer = browser.get(location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/microsoft/callback"
    return f"{back.path}?{back.query}"


def rows(app: Flask, model: Any) -> list[Any]:
    with app.app_context(), get_db().session() as session:
        found = list(session.scalars(select(model)))
        session.expunge_all()
        return found


def sealed_tokens(app: Flask) -> str:
    with app.app_context(), get_db().session() as session:
        return str(session.scalars(select(Source.credentials)).one())


def test_connect_reads_the_default_calendar(app: Flask, logged_in: FlaskClient,
                                            settings: Settings, emulator: MicrosoftEmulator,
                                            browser: requests.Session) -> None:
    page = logged_in.get("/sources").get_data(as_text=True)
    assert "Connect Microsoft 365 / Outlook" in page
    default, team = emulator.calendar_ids(EMAIL)
    emulator.add_event(default, timed(hour(2), subject="Pricing call with Acme"))
    emulator.add_event(team, timed(hour(3), subject="Team stand-up"))

    done = logged_in.get(consent(browser, emulator, start(logged_in, "/microsoft/connect")))
    assert done.status_code == 302 and "/sources/" in done.headers["Location"]
    [source] = rows(app, Source)
    assert source.kind == "microsoft" and source.options["account"] == EMAIL
    assert source.options["calendars_read"] == [default]
    assert source.options["calendar_written"] == default
    assert source.options["calendar_names"] == {default: "Calendar", team: "Sales team"}
    sealed = sealed_tokens(app)
    tokens = crypto.unseal(settings, sealed)
    assert tokens["refresh_token"] and tokens["refresh_token"] not in sealed
    assert [m.title for m in rows(app, Meeting)] == ["Pricing call with Acme"]
    assert rows(app, OAuthState) == []  # the round trip is used up

    # connecting the same account again updates that source, keeping the choice
    logged_in.get(consent(browser, emulator, start(logged_in, "/microsoft/connect")))
    assert [s.id for s in rows(app, Source)] == [source.id]


def test_a_callback_from_another_browser_connects_nothing(
        app: Flask, logged_in: FlaskClient, client: FlaskClient, emulator: MicrosoftEmulator,
        browser: requests.Session, make_user: Any) -> None:
    callback = consent(browser, emulator, start(logged_in, "/microsoft/connect"))
    with app.test_client() as other:
        make_user("eve@example.com")
        token = csrf_from(other.get("/login").get_data(as_text=True))
        other.post("/login", data={"email": "eve@example.com", "password": "correct horse battery",
                                   "csrf_token": token})
        refused = other.get(callback)
    assert refused.status_code == 400
    assert "not started in this browser" in refused.get_data(as_text=True)
    assert rows(app, Source) == []


def test_sign_in_links_only_a_verified_email(app: Flask, client: FlaskClient,
                                             make_user: Any, emulator: MicrosoftEmulator,
                                             browser: requests.Session) -> None:
    make_user(EMAIL)
    signed = client.get(consent(browser, emulator, start(client, "/microsoft/signin",
                                                         "/login")))
    assert signed.status_code == 302
    assert client.get("/sources").status_code == 200  # signed in as Ann

    with MicrosoftEmulator(auto_consent=True) as unverified, app.test_client() as stranger:
        unverified.add_client("calsync-demo", "")
        unverified.add_account(EMAIL, email_verified=False)
        settings: Settings = app.extensions["calsync.settings"]
        app.extensions["calsync.settings"] = _pointing(settings, unverified)
        try:
            with requests.Session() as other:
                other.trust_env, other.verify = False, str(unverified.ca_path)
                refused = stranger.get(consent(other, unverified, start(
                    stranger, "/microsoft/signin", "/login")))
        finally:
            app.extensions["calsync.settings"] = settings
    assert refused.status_code == 400
    assert "has not verified" in refused.get_data(as_text=True)
    assert [u.email for u in rows(app, User)] == [EMAIL]


def _pointing(settings: Settings, emulator: MicrosoftEmulator) -> Settings:
    return dataclasses.replace(settings, **{**endpoints(emulator),
                                            "microsoft_client_id": "calsync-demo",
                                            "microsoft_client_secret": ""})


def test_another_users_source_is_not_found(app: Flask, logged_in: FlaskClient, user: User,
                                           make_user: Any, settings: Settings) -> None:
    bo = make_user("bo@rival-sales.com")
    with app.app_context(), get_db().session() as session:
        theirs = Source(user_id=bo.id, kind="microsoft", name="Outlook (bo)", url="",
                        options={"account": "bo@rival-sales.com"}, cursor={}, warnings=[],
                        credentials=crypto.seal(settings, {"refresh_token": "bo's"}))
        session.add(theirs)
        session.commit()
        theirs_id = theirs.id
    token = csrf_from(logged_in.get("/sources").get_data(as_text=True))
    for action, data in ((f"/microsoft/sources/{theirs_id}/disconnect", {}),
                         ("/microsoft/connect", {"source_id": str(theirs_id)})):
        answer = logged_in.post(action, data={**data, "csrf_token": token})
        assert answer.status_code == 404, action
    with app.app_context(), get_db().session() as session:
        assert session.get(Source, theirs_id).credentials is not None  # type: ignore[union-attr]


def test_disconnect_forgets_the_tokens(app: Flask, logged_in: FlaskClient,
                                       emulator: MicrosoftEmulator,
                                       browser: requests.Session) -> None:
    logged_in.get(consent(browser, emulator, start(logged_in, "/microsoft/connect")))
    [source] = rows(app, Source)
    token = csrf_from(logged_in.get("/sources").get_data(as_text=True))
    gone = logged_in.post(f"/microsoft/sources/{source.id}/disconnect",
                          data={"csrf_token": token})
    assert gone.status_code == 302
    [after] = rows(app, Source)
    assert after.status == "disabled" and sealed_tokens(app) == "None"


def test_the_api_chooses_the_calendars(app: Flask, logged_in: FlaskClient, api: Any,
                                       emulator: MicrosoftEmulator,
                                       browser: requests.Session) -> None:
    logged_in.get(consent(browser, emulator, start(logged_in, "/microsoft/connect")))
    [source] = rows(app, Source)
    default, team = emulator.calendar_ids(EMAIL)
    emulator.add_event(team, timed(hour(3), subject="Team stand-up"))
    refused = api.patch(f"/api/v1/sources/{source.id}",
                        json={"calendars_read": [default], "calendar_written": team})
    assert refused.status_code == 422 and "calendar_written" in refused.get_data(as_text=True)
    chosen = api.patch(f"/api/v1/sources/{source.id}",
                       json={"calendars_read": [default, team], "calendar_written": team})
    assert chosen.status_code == 200, chosen.get_data(as_text=True)
    [after] = rows(app, Source)
    assert after.options["calendars_read"] == [default, team]
    assert after.options["calendar_written"] == team
    assert "Team stand-up" in {m.title for m in rows(app, Meeting)}  # read at once

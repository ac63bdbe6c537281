"""A Microsoft 365 source in the pages: its calendar picker (the same template and service
as Google's and the API's), its page (account, calendars, picker, disconnect, reconnect),
its label on the Calendars list, and "Sign in with Microsoft" on the sign-in pages."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync import crypto
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import SourceStatus
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.models import Meeting, Source, User
from tests.conftest import csrf_from
from tests.microsoft.mscal import hour, timed
from tests.servers.microsoft import EMAIL

# msal recommends form_post; calsync's callback takes the query Microsoft also supports.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post':UserWarning")


def saved(app: Flask, source_id: int) -> Source:
    with app.app_context(), get_db().session() as session:
        found = session.get(Source, source_id)
        assert found is not None
        session.expunge(found)
        return found


def set_status(app: Flask, source_id: int, status: SourceStatus) -> None:
    with app.app_context(), get_db().session() as session:
        row = session.get(Source, source_id)
        assert row is not None
        row.status = status
        session.commit()


def connected(app: Flask, source: Source, emulator: MicrosoftEmulator) -> int:
    """The fixture's source as connecting leaves it: it knows the default calendar."""
    with app.app_context(), get_db().session() as session:
        row = session.get(Source, source.id)
        assert row is not None
        row.options = {**row.options, "default_calendar": emulator.calendar_ids(EMAIL)[0]}
        session.commit()
    return source.id


def form_actions(html: str) -> list[str]:
    """Where the page's forms post, signing out left out."""
    return [a for a in re.findall(r'<form method="post" action="([^"]+)"', html)
            if a != "/logout"]


def test_the_picker_lists_the_accounts_calendars_and_saves_a_choice(
        app: Flask, logged_in: FlaskClient, microsoft_source: Source,
        emulator: MicrosoftEmulator) -> None:
    default, team = emulator.calendar_ids(EMAIL)
    emulator.add_event(team, timed(hour(3), subject="Team stand-up"))
    picker_url = f"/microsoft/sources/{connected(app, microsoft_source, emulator)}/calendars"
    page = logged_in.get(picker_url).get_data(as_text=True)
    # Graph's names, asked now (the source knew only the default calendar's id).
    assert 'aria-label="Your Microsoft calendars"' in page
    assert "Calendar</label> <span class=\"muted\">(default)</span>" in page
    assert "Sales team" in page and f'value="{team}"' in page
    assert picker_url in form_actions(page)
    assert re.search(rf'value="{re.escape(default)}" checked', page)  # read today

    chosen = logged_in.post(picker_url, data={
        "csrf_token": csrf_from(page), "calendars_read": [default, team],
        "calendar_written": team})
    assert chosen.status_code == 302
    assert chosen.headers["Location"].endswith(f"/sources/{microsoft_source.id}")
    after = saved(app, microsoft_source.id)
    assert after.options["calendars_read"] == [default, team]
    assert after.options["calendar_written"] == team
    with app.app_context(), get_db().session() as session:
        titles = set(session.scalars(select(Meeting.title)))
    assert "Team stand-up" in titles  # the new calendar is read at once


def test_a_refused_choice_is_shown_again_as_made(app: Flask, logged_in: FlaskClient,
                                                 microsoft_source: Source,
                                                 emulator: MicrosoftEmulator) -> None:
    default, team = emulator.calendar_ids(EMAIL)
    picker_url = f"/microsoft/sources/{microsoft_source.id}/calendars"
    token = csrf_from(logged_in.get(picker_url).get_data(as_text=True))
    refused = logged_in.post(picker_url, data={"csrf_token": token,
                                               "calendars_read": [default],
                                               "calendar_written": team})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="picker-error"' in page and "also reads" in page
    assert re.search(rf'value="{re.escape(team)}" aria-label="[^"]*" checked', page)
    assert saved(app, microsoft_source.id).options["calendar_written"] == default


def test_each_picker_answers_only_for_its_own_kind_and_owner(
        app: Flask, logged_in: FlaskClient, user: User, make_user: Any,
        settings: Settings) -> None:
    # Rows made here, not by the `microsoft_source` fixture: its app context, held through
    # the test, would share one `g` (and so one signed-in user) between requests.
    bo = make_user("bo@rival-sales.com")
    with app.app_context(), get_db().session() as session:
        mine, theirs = (Source(user_id=owner.id, kind="microsoft", name="Outlook", url="",
                               options={"account": owner.email}, cursor={}, warnings=[],
                               credentials=crypto.seal(settings, {"refresh_token": "r"}))
                        for owner in (user, bo))
        session.add_all([mine, theirs])
        session.commit()
        mine_id, theirs_id = mine.id, theirs.id
    assert logged_in.get(f"/sources/{mine_id}/calendars").status_code == 404  # Google's
    token = csrf_from(logged_in.get("/sources").get_data(as_text=True))
    theirs_url = f"/microsoft/sources/{theirs_id}/calendars"
    assert logged_in.get(theirs_url).status_code == 404
    assert logged_in.post(theirs_url, data={"csrf_token": token, "calendars_read": ["x"],
                                            "calendar_written": "x"}).status_code == 404
    with app.app_context(), get_db().session() as session:
        assert session.get(Source, theirs_id).options == {  # type: ignore[union-attr]
            "account": "bo@rival-sales.com"}


def test_the_source_page_shows_the_account_and_its_choices(
        app: Flask, logged_in: FlaskClient, microsoft_source: Source,
        emulator: MicrosoftEmulator) -> None:
    sid = microsoft_source.id
    page = logged_in.get(f"/sources/{sid}").get_data(as_text=True)
    assert "Microsoft 365 / Outlook" in page
    assert f'<dd id="microsoft-account">{EMAIL}</dd>' in page
    default = emulator.calendar_ids(EMAIL)[0]
    assert f'<dd id="calendars-read">{default[-8:]}</dd>' in page  # the names it knows
    assert f'href="/microsoft/sources/{sid}/calendars"' in page
    assert "Last successful sync" in page  # not an uploaded file's "Read"
    assert form_actions(page) == [f"/sources/{sid}/sync",
                                  f"/microsoft/sources/{sid}/disconnect"]
    assert "Disconnect Microsoft" in page and "myapps.microsoft.com" in page
    assert "Remove this calendar" not in page  # disconnect first, as for Google

    token = csrf_from(page)
    assert logged_in.post(f"/microsoft/sources/{sid}/disconnect",
                          data={"csrf_token": token}).status_code == 302
    page = logged_in.get(f"/sources/{sid}").get_data(as_text=True)
    assert "This account is disconnected" in page
    assert form_actions(page) == ["/microsoft/connect", f"/sources/{sid}/delete"]
    assert f'name="source_id" value="{sid}"' in page
    assert "/calendars" not in page  # no picker for an account calsync can't read

    set_status(app, sid, SourceStatus.NEEDS_RECONNECT)
    page = logged_in.get(f"/sources/{sid}").get_data(as_text=True)
    assert "Microsoft no longer lets calsync read this account" in page
    assert form_actions(page)[0] == "/microsoft/connect"
    # Reconnecting goes to Microsoft with the account's address as the login hint.
    again = logged_in.post("/microsoft/connect",
                           data={"csrf_token": csrf_from(page), "source_id": str(sid)})
    assert again.status_code == 302 and "login_hint=ann" in again.headers["Location"]


def test_the_calendars_list_labels_each_kind(app: Flask, logged_in: FlaskClient,
                                             user: User) -> None:
    kinds = [("google", "Work", "", "Google Calendar"),
             ("microsoft", "Outlook", "", "Microsoft 365 / Outlook"),
             ("caldav", "Fastmail", "https://caldav.example.com/dav/", "CalDAV: https://caldav"),
             ("ics", "Feed", "https://calendar.example.com/basic.ics",
              "https://calendar.example.com/basic.ics"),
             ("ics", "Export", "", "uploaded file")]
    with app.app_context(), get_db().session() as session:
        session.add_all(Source(user_id=user.id, kind=kind, name=name, url=url, options={},
                               cursor={}, warnings=[]) for kind, name, url, _ in kinds)
        session.commit()
    page = logged_in.get("/sources").get_data(as_text=True)
    rows = re.findall(r'">([^<]+)</a>\s*<div class="muted address">([^<]*)</div>', page)
    assert [(name, label[:len(want)]) for (name, label), (*_, want) in zip(
        rows, kinds, strict=True)] == [(name, want) for _, name, _, want in kinds]
    # Only the upload is read once; the others are synced.
    assert page.count("read once: upload it again") == 1


def test_sign_in_with_microsoft_shows_where_microsoft_can_answer(
        app: Flask, client: FlaskClient, settings: Settings) -> None:
    for page in ("/login", "/signup"):
        html = client.get(page).get_data(as_text=True)
        assert "Sign in with Microsoft" in html and 'action="/microsoft/signin"' in html
        assert "Sign in with Google" in html
    # Neither a client of one's own nor an emulator: Microsoft could not answer.
    nowhere = dataclasses.replace(settings, microsoft_client_id="",
                                  microsoft_authority_host=Settings.microsoft_authority_host)
    bare = create_app(nowhere)
    try:
        html = bare.test_client().get("/login").get_data(as_text=True)
    finally:
        with bare.app_context():
            get_db().dispose()
    assert "Sign in with Google" in html and "Sign in with Microsoft" not in html

"""Whom a meeting was "with": every page lists the other people, never the user themself."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from calsync.db import get_db
from calsync.domain.prompting import others
from calsync.models import AttendeeRow, Meeting, Prompt, User
from tests.web.conftest import Seed, load, seed_meetings

# The user as calendars list them: their address in capitals behind mailto:, and the work
# account their Google calendar marks as its owner's.
USER_LISTED: list[AttendeeRow] = [
    {"email": "MAILTO:Ana@Acme-Sales.com", "name": "Ana"},
    {"email": "ana.work@acme-corp.example", "name": "Ana at work", "is_self": True},
]
PROSPECT: AttendeeRow = {"email": "buyer@northwind.example", "name": "Dana Whitfield"}


def test_others_leaves_out_the_user_however_the_calendar_lists_them() -> None:
    assert others([*USER_LISTED, PROSPECT], "ana@acme-sales.com") == [PROSPECT]
    assert others([{"email": "sam@acme-sales.com"}], "ana@acme-sales.com") == [
        {"email": "sam@acme-sales.com"}]
    # Nobody signed in (a link's page): the calendar's owner still goes.
    assert others([*USER_LISTED, PROSPECT, {"email": ""}], "") == [
        USER_LISTED[0], PROSPECT, {"email": ""}]


def test_inbox_prompt_and_deal_pages_never_list_the_user(app: Flask, user: User,
                                                         logged_in: FlaskClient) -> None:
    prompt_id = seed_meetings(app, user, Seed("Northwind discovery call"))[
        "Northwind discovery call"]
    with app.app_context(), get_db().session() as session:
        session.execute(update(Meeting).where(Meeting.title == "Northwind discovery call")
                        .values(attendees=[*USER_LISTED, PROSPECT]))
        session.commit()
    deal_id = load(app, Prompt, prompt_id).deal_id
    assert deal_id is not None
    for path in ("/", f"/prompts/{prompt_id}", f"/deals/{deal_id}"):
        html = logged_in.get(path).get_data(as_text=True)
        assert "With Dana Whitfield &lt;buyer@northwind.example&gt;</p>" in html, path
        assert "ana.work@acme-corp.example" not in html and "Ana at work" not in html, path

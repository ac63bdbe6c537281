"""Pages around an answer that covered older prompts: the notice with Undo where the answer
lands, a covered prompt's page saying what covered it (Undo there too), and the live clash
check of a picked time."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.db import get_db
from calsync.domain.vocabulary import AnswerAction
from calsync.models import Deal, Meeting, Prompt, User
from calsync.services import links
from calsync.services.links import Link, LinkPurpose
from tests.conftest import csrf_from
from tests.web.conftest import Seed, load, post, query, seed_meetings, token

BUYER = ("lena@contoso.example",)


@pytest.fixture
def three(app: Flask, user: User, logged_in: FlaskClient) -> dict[str, int]:
    return seed_meetings(app, user, Seed("Intro", hours_ago=50, attendees=BUYER),
                         Seed("Demo", hours_ago=26, attendees=BUYER),
                         Seed("Pricing", hours_ago=2, attendees=BUYER))


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_answer_says_what_it_covered_and_undo_brings_them_back(app, logged_in,
                                                                   three) -> None:
    landed = post(logged_in, f"/prompts/{three['Pricing']}/answer",
                  {"outcome": "yes", "return_to": "inbox"}, follow_redirects=True)
    page = text_of(landed)
    deal = query(app, select(Deal.name).join(Prompt, Prompt.deal_id == Deal.id)
                 .where(Prompt.id == three["Pricing"]))[0]
    assert f"2 earlier prompts of {deal} are covered by this answer." in page
    assert f'action="/prompts/{three["Pricing"]}/uncover-all"' in page
    assert load(app, Prompt, three["Demo"]).status == "covered"
    undone = post(logged_in, f"/prompts/{three['Pricing']}/uncover-all", follow_redirects=True)
    assert "Undone: 2 earlier prompts are back in your inbox." in text_of(undone)
    assert {load(app, Prompt, three[t]).status for t in ("Intro", "Demo")} == {"pending"}
    assert load(app, Prompt, three["Pricing"]).status == "answered"


def test_a_covered_prompts_page_says_what_covered_it_and_undoes_it(app, logged_in,
                                                                   three) -> None:
    post(logged_in, f"/prompts/{three['Pricing']}/answer", {"outcome": "yes"})
    page = text_of(logged_in.get(f"/prompts/{three['Intro']}"))
    assert "Covered by your answer on “Pricing” (Yes — won / agreed): it counts as a touch." in (
        page)
    assert f'action="/prompts/{three["Intro"]}/uncover"' in page
    back = post(logged_in, f"/prompts/{three['Intro']}/uncover", follow_redirects=True)
    assert "“Intro” waits for its own answer again." in text_of(back)
    assert load(app, Prompt, three["Intro"]).status == "pending"
    # Undone already: a second Undo changes nothing and says why.
    again = post(logged_in, f"/prompts/{three['Intro']}/uncover")
    assert again.status_code == 409
    assert load(app, Prompt, three["Demo"]).status == "covered"


def add_meeting(app: Flask, user: User, start: datetime, minutes: int, title: str) -> None:
    with app.app_context(), get_db().session() as session:
        session.add(Meeting(user_id=user.id, uid=f"busy-{title}", title=title, start=start,
                            end=start + timedelta(minutes=minutes)))
        session.commit()


def test_the_live_check_names_the_meeting_a_picked_time_clashes_with(app, user, logged_in,
                                                                     three) -> None:
    tz = ZoneInfo(user.timezone)
    day = (datetime.now(tz) + timedelta(days=3)).date()
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz).replace(hour=10)
    add_meeting(app, user, start.astimezone(UTC), 60, "Weekly pipeline review")
    path = f"/prompts/{three['Pricing']}/clash"
    busy = logged_in.get(path, query_string={"date": day.isoformat(), "time": "10:30",
                                             "duration": "30"})
    assert busy.status_code == 200
    assert busy.get_json() == {"clash": f"{start:%a} {day.day} {start:%b} 10:30 clashes with "
                                        "“Weekly pipeline review”."}
    free = logged_in.get(path, query_string={"date": day.isoformat(), "time": "11:00",
                                             "duration": "30"})
    assert free.get_json() == {"clash": None}
    bad = logged_in.get(path, query_string={"date": "soon", "time": "11:00"})
    assert bad.status_code == 422 and bad.get_json()["error"] == "Pick a date and a time."


def test_another_users_prompt_is_404_on_these_pages(app, client, make_user, three) -> None:
    other = make_user("bo@rival-sales.com")
    theirs = seed_meetings(app, other, Seed("Their call", attendees=BUYER))
    assert client.get(f"/prompts/{theirs['Their call']}/clash",
                      query_string={"date": "2030-01-01", "time": "10:00"}).status_code == 404
    assert post(client, f"/prompts/{theirs['Their call']}/uncover").status_code == 404
    assert post(client, f"/prompts/{theirs['Their call']}/uncover-all").status_code == 404


def test_the_notice_escapes_what_calendars_and_users_named(app, logged_in, three) -> None:
    with app.app_context(), get_db().session() as session:
        prompt = session.get(Prompt, three["Pricing"])
        assert prompt is not None and prompt.deal is not None
        prompt.deal.name = "<b>Contoso</b>"
        session.commit()
    landed = post(logged_in, f"/prompts/{three['Pricing']}/answer",
                  {"outcome": "yes", "return_to": "inbox"}, follow_redirects=True)
    raw = landed.get_data(as_text=True)
    assert "of &lt;b&gt;Contoso&lt;/b&gt; are covered" in raw
    assert "<b>Contoso</b>" not in raw


def test_an_email_answer_link_on_a_covered_prompt_acts_on_nothing(app, client, user,
                                                                  three) -> None:
    settings = app.extensions["calsync.settings"]
    post(client, f"/prompts/{three['Pricing']}/answer", {"outcome": "yes"})
    client.post("/logout", data={"csrf_token": token(client)})
    expires = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    path = "/a/" + links.sign(settings, Link(LinkPurpose.ANSWER, user.id, expires,
                                             prompt_id=three["Intro"],
                                             action=AnswerAction.NO))
    opened = client.get(path)
    assert opened.status_code == 200 and "Already answered" in text_of(opened)
    # A confirm sent anyway (a page left open from before) lands on that page again.
    fresh = csrf_from(client.get("/login").get_data(as_text=True))
    confirmed = client.post(path, data={"csrf_token": fresh}, follow_redirects=True)
    assert confirmed.status_code == 200 and "Already answered" in text_of(confirmed)
    intro = load(app, Prompt, three["Intro"])
    assert (intro.status, intro.outcome) == ("covered", None)

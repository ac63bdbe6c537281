"""A promise's prompt on the pages: the inbox row names its kind and deadline and asks
"Delivered?" first (the answer folded under "Something else happened"), as does its answer
link signed out; a kept promise keeps its kind, deadline and timing on the deal's page; a
meeting booked with them is the deal's next touch on its page and the list; a summary ending
in "?" is parted from its time by a middle dot."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.models import FollowUp, Prompt, User
from calsync.services import links
from calsync.services.links import Link, LinkPurpose
from tests.browser.test_booked_in_browser import seed as seed_booked
from tests.conftest import csrf_from
from tests.web.conftest import Seed, load, post, seed_meetings
from tests.web.promise_due import SUMMARY, due_promise


def _row(html: str, prompt_id: int) -> str:
    return html.split(f'id="prompt-{prompt_id}"')[1].split("</article>")[0]


def test_the_inbox_row_names_the_promise_and_asks_delivered_first(
        app: Flask, user: User, logged_in: FlaskClient) -> None:
    promise = due_promise(app, user)
    plain = seed_meetings(app, user, Seed("Northwind call", hours_ago=2))["Northwind call"]
    html = logged_in.get("/").get_data(as_text=True)
    row = _row(html, promise.prompt)
    summary = row.split("</summary>")[0]
    assert "Promise · Email" in summary and "Follow-up · Email" not in summary
    assert re.search(r"promised for \w{3} \d{1,2} \w{3} \d\d:\d\d", summary)
    opened = row.split("</summary>", 1)[1]
    # Delivered and Not yet come first, on the prompt's own routes; the answer after them.
    delivered = opened.index(f'action="/prompts/{promise.prompt}/delivered"')
    assert delivered < opened.index(f'action="/prompts/{promise.prompt}/not-yet"')
    assert delivered < opened.index("Something else happened") < opened.index(
        f'action="/prompts/{promise.prompt}/answer"')
    assert "Something else happened" not in _row(html, plain)


def test_delivered_from_the_inbox_goes_back_to_the_inbox(
        app: Flask, user: User, logged_in: FlaskClient) -> None:
    promise = due_promise(app, user)
    answered = post(logged_in, f"/prompts/{promise.prompt}/delivered",
                    {"return_to": "inbox"})
    assert answered.status_code == 302 and answered.location.split("#")[0] == "/"
    assert load(app, FollowUp, promise.followup).delivered_at is not None
    # From the prompt's page, that page (as before).
    again = due_promise(app, user, title="Fabrikam review", buyer="ana@fabrikam.example")
    page = post(logged_in, f"/prompts/{again.prompt}/delivered")
    assert page.location == f"/prompts/{again.prompt}"


def _link_path(settings: Settings, user: User, **named: object) -> str:
    expires = (datetime.now(UTC) + timedelta(days=14)).replace(microsecond=0)
    purpose = LinkPurpose.ANSWER if "action" in named else LinkPurpose.FOLLOWUP
    return "/a/" + links.sign(settings, Link(purpose, user.id, expires,
                                             **named))  # type: ignore[arg-type]


def test_an_answer_link_asks_delivered_first_and_records_it(
        app: Flask, client: FlaskClient, user: User) -> None:
    settings: Settings = app.extensions["calsync.settings"]
    promise = due_promise(app, user)
    path = _link_path(settings, user, followup_id=promise.followup)
    html = client.get(path).get_data(as_text=True)
    assert '<span class="badge">Promise</span>' in html
    assert html.index('id="delivered"') < html.index('id="else"') < html.index('id="choose"')
    assert 'name="promise" value="delivered"' in html

    # Not yet: the work moves before the deadline, the prompt asks again then.
    moved = client.post(path, data={"csrf_token": csrf_from(html), "promise": "not_yet"},
                        follow_redirects=True).get_data(as_text=True)
    assert "Not delivered yet: calsync asks again" in moved
    followup = load(app, FollowUp, promise.followup)
    assert followup.delivered_at is None and followup.end <= promise.due

    # An answer link of the same prompt (the email's "Yes") asks "Delivered?" first too.
    yes = _link_path(settings, user, prompt_id=promise.prompt, action="yes")
    html = client.get(yes).get_data(as_text=True)
    assert html.index('id="delivered"') < html.index('id="confirm"')
    done = client.post(yes, data={"csrf_token": csrf_from(html), "promise": "delivered"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Delivered early. Follow-through planned for" in done
    assert re.search(r"<dt>Promise</dt><dd>delivered early</dd>", done)
    assert load(app, FollowUp, promise.followup).delivered_at is not None
    assert load(app, Prompt, promise.prompt).outcome == "next_step"  # not the link's "yes"


def test_a_promise_delivered_through_its_prompt_keeps_its_kind_on_the_deal(
        app: Flask, user: User, logged_in: FlaskClient) -> None:
    promise = due_promise(app, user)
    post(logged_in, f"/prompts/{promise.prompt}/delivered")
    deal_id = load(app, FollowUp, promise.followup).deal_id
    html = logged_in.get(f"/deals/{deal_id}").get_data(as_text=True)
    touch = html.split(f'href="/prompts/{promise.prompt}">{SUMMARY}</a>')[1].split("</li>")[0]
    assert '<span class="badge kind promise">Promise</span>' in touch
    assert re.search(r"promised for \w{3} \d{1,2} \w{3} \d\d:\d\d · delivered early", touch)
    assert "promise by email" in touch


def test_a_booked_meeting_is_the_deals_next_touch(app: Flask, user: User,
                                                  logged_in: FlaskClient) -> None:
    followup_id = seed_booked(app, user)
    deal_id = load(app, FollowUp, followup_id).deal_id
    html = logged_in.get(f"/deals/{deal_id}").get_data(as_text=True)
    facts = html.split('<dl class="facts">')[1].split("</dl>")[0]
    assert re.search(r"Booked: “Pricing review” on \w{3} \d{1,2} \w{3}, \d\d:\d\d", facts)
    assert "no next touch planned" not in facts
    booked = html.split('class="followup booked-touch"')[1].split("</li>")[0]
    assert "Booked: “Pricing review”" in booked and "in place of “Send pricing”" in booked

    listed = logged_in.get("/deals").get_data(as_text=True)
    row = listed.split(f'id="deal-{deal_id}"')[1].split("</tr>")[0]
    assert "Booked: “Pricing review” on" in row and "no next touch planned" not in row
    # Gone cold: said with its date, not only its weekday.
    assert re.search(r"cold since \w{3} \d{1,2} \w{3}", listed)


def test_a_summary_ending_in_a_question_mark_is_parted_from_its_time(
        app: Flask, user: User, logged_in: FlaskClient) -> None:
    pid = seed_meetings(app, user, Seed("Contoso demo", hours_ago=2))["Contoso demo"]
    day = (datetime.now(UTC) + timedelta(days=9)).date().isoformat()
    answered = post(logged_in, f"/prompts/{pid}/answer", {
        "outcome": "next_step", "summary": "Check in: are they happy with it?", "date": day,
        "time": "10:00", "duration": "30", "channel": "call", "return_to": "prompt"},
        follow_redirects=True).get_data(as_text=True)
    assert "happy with it? · " in answered and "happy with it?, " not in answered
    with app.app_context(), get_db().session() as session:
        deal_id = session.scalar(select(Prompt.deal_id).where(Prompt.id == pid))
    deal = logged_in.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "happy with it? · " in deal and "happy with it?, " not in deal

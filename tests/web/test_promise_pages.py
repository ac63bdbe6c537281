"""A promise through the pages: "Promised to them by" and "What will you bring them?" on the
answer form, the promise's prompt asking "Delivered?", Not yet, Delivered and the
follow-through."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.db import get_db
from calsync.models import FollowUp, Prompt
from calsync.services import prompts as inbox
from tests.promise_dates import BERLIN, wednesday_at_four
from tests.web.conftest import load, post, prompted, query


def _promise(client: FlaskClient, prompt_id: int, due: datetime, **extra: str) -> object:
    later = due + timedelta(days=1)
    return post(client, f"/prompts/{prompt_id}/answer", {
        "outcome": "next_step", "summary": "Send pricing", "date": later.date().isoformat(),
        "time": "09:00", "duration": "30", "channel": "email",
        "promise_date": due.date().isoformat(), "promise_time": "16:00",
        "value_note": "pricing for the pilot", **extra}, follow_redirects=True)


def test_the_answer_form_offers_a_promise_and_a_value_note(logged_in: FlaskClient,
                                                           seeded: dict[str, int]) -> None:
    page = logged_in.get(f"/prompts/{seeded['Contoso demo']}").get_data(as_text=True)
    assert "Promised to them by" in page and "What will you bring them?" in page


def test_a_promise_without_its_time_is_refused_beside_the_field(
        logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    response = _promise(logged_in, seeded["Contoso demo"], wednesday_at_four(), promise_time="")
    assert response.status_code == 422
    assert "Give both the date and the time you promised them." in response.get_data(
        as_text=True)


def test_promise_delivered_and_follow_through(app: Flask, logged_in: FlaskClient,
                                              seeded: dict[str, int]) -> None:
    due = wednesday_at_four()
    response = _promise(logged_in, seeded["Contoso demo"], due)
    html = response.get_data(as_text=True)
    assert f"promised for Wed {due.day} {due:%b} 16:00" in html
    [followup] = query(app, select(FollowUp))
    assert followup.kind == "promise" and followup.value_note == "pricing for the pilot"
    deal_page = logged_in.get(f"/deals/{followup.deal_id}").get_data(as_text=True)
    assert 'class="badge kind promise">Promise<' in deal_page  # the deal's timeline says so
    assert f"promised for Wed {due.day} {due:%b} 16:00" in deal_page
    assert "Bringing them: pricing for the pilot" in deal_page
    # Planned the day before the deadline, not at the later time typed.
    assert followup.start == due - timedelta(days=1)
    page = logged_in.get(f"/prompts/{seeded['Contoso demo']}").get_data(as_text=True)
    assert "Promise</span>" in page and "What you bring them: pricing for the pilot" in page

    asked, page = prompted(app, logged_in, followup)
    assert "Delivered?" in page and "Not yet" in page
    assert "Promise · Email" in page  # the kind's badge in the prompt's title

    moved = post(logged_in, f"/prompts/{asked.id}/not-yet", follow_redirects=True)
    assert "Not delivered yet" in moved.get_data(as_text=True)
    assert load(app, Prompt, asked.id).status == "snoozed"

    done = post(logged_in, f"/prompts/{asked.id}/delivered", follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "Delivered early" in text and "Follow-through planned for" in text
    assert load(app, FollowUp, followup.id).delivered_at is not None
    [through] = query(app, select(FollowUp).where(FollowUp.kind == "follow_through"))
    assert through.status == "planned" and through.summary == "Follow through: Send pricing"
    assert load(app, Prompt, asked.id).planned_followup_id == through.id
    assert "early</span> against promised for" in text
    # Kept early: counted on the coach page and the dashboard.
    coach = logged_in.get("/coach").get_data(as_text=True)
    kept = coach.split('id="promises-kept"')[1].split("</dl>")[0]
    assert "<dt>Early</dt><dd>1</dd>" in kept and "<dt>Late</dt><dd>0</dd>" in kept
    dashboard = logged_in.get("/dashboard").get_data(as_text=True)
    assert "1 early, 0 on time, 0 late" in dashboard


def test_a_plain_follow_up_asks_no_delivered(app: Flask, logged_in: FlaskClient,
                                             seeded: dict[str, int]) -> None:
    day = (datetime.now(BERLIN) + timedelta(days=3)).date().isoformat()
    post(logged_in, f"/prompts/{seeded['Contoso demo']}/answer", {
        "outcome": "next_step", "summary": "Call", "date": day, "time": "10:00",
        "duration": "30", "channel": "call"})
    [followup] = query(app, select(FollowUp))
    assert followup.kind == "follow_up" and followup.promise_due is None
    with app.app_context(), get_db().session() as session:
        inbox.create_due_prompts(session, app.extensions["calsync.settings"],
                                 followup.end + timedelta(hours=1))
    [asked] = query(app, select(Prompt).where(Prompt.followup_id == followup.id))
    page = logged_in.get(f"/prompts/{asked.id}").get_data(as_text=True)
    assert "Delivered?" not in page and "Follow-up · Call" in page
    refused = post(logged_in, f"/prompts/{asked.id}/delivered", follow_redirects=True)
    assert "only a promise" in refused.get_data(as_text=True).lower()


def test_a_yes_plans_the_after_sale_touches_ticked(app: Flask, logged_in: FlaskClient,
                                                   seeded: dict[str, int]) -> None:
    page = logged_in.get(f"/prompts/{seeded['Contoso demo']}").get_data(as_text=True)
    assert "Satisfaction check-in" in page and "(in 30 days)" in page
    assert "(with the check-in)" in page and "Up-sell review" in page
    assert 'value="check_in" checked' not in page  # the cadence ticks none by default
    response = post(logged_in, f"/prompts/{seeded['Contoso demo']}/answer", {
        "outcome": "yes", "after_sale_shown": "y", "after_sale": ["check_in", "referral"],
        "revisit_shown": "y"}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "The deal is won. Planned: Satisfaction check-in" in text
    kinds = sorted(f.kind for f in query(app, select(FollowUp)))
    assert kinds == ["check_in", "referral"]


def test_nothing_ticked_plans_nothing_and_a_revisit_follows_bad_timing(
        app: Flask, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    post(logged_in, f"/prompts/{seeded['Contoso demo']}/answer",
         {"outcome": "yes", "after_sale_shown": "y", "revisit_shown": "y"})
    assert query(app, select(FollowUp)) == []
    response = post(logged_in, f"/prompts/{seeded['Northwind discovery call']}/answer", {
        "outcome": "no", "no_reason": "bad_timing", "after_sale_shown": "y",
        "revisit_shown": "y", "revisit": "y"}, follow_redirects=True)
    assert "Planned: Revisit" in response.get_data(as_text=True)
    [revisit] = query(app, select(FollowUp))
    assert revisit.kind == "revisit" and revisit.status == "planned"


def test_a_user_who_ticks_after_sale_touches_sees_them_ticked(
        app: Flask, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    from calsync.models import User
    with app.app_context(), get_db().session() as session:
        user = session.scalars(select(User)).one()
        user.cadence = {"after_sale": ["upsell"]}
        session.commit()
    page = logged_in.get(f"/prompts/{seeded['Contoso demo']}").get_data(as_text=True)
    assert 'value="upsell" checked' in page and 'value="check_in" checked' not in page
    assert 'id="p{}-after" open'.format(seeded["Contoso demo"]) in page

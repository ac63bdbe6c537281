"""Answering an after-sale touch (check-in, referral, up-sell): the won deal stays won, no
deal.won/deal.lost is sent, and one answer's events agree on the deal's status."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.errors import ValidationFailed
from calsync.models import FollowUp, Prompt, User, WebhookDelivery
from calsync.services import answers, webhooks
from calsync.services import prompts as inbox
from calsync.services.answers import Answer, NextStep
from tests.test_answers import me, prompts  # noqa: F401  (the fixture)
from tests.test_sync import NOW


def prompted(session: Session, settings: Settings, followup: FollowUp) -> tuple[Prompt, Any]:
    later = followup.end + timedelta(minutes=settings.prompt_grace_minutes)
    inbox.create_due_prompts(session, settings, later, user_id=followup.user_id)
    prompt = session.scalar(select(Prompt).where(Prompt.followup_id == followup.id))
    assert prompt is not None
    return prompt, later


def sent(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """Every webhook event recorded so far: (type, data), in order."""
    rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
    return [(row.type, json.loads(row.body)["data"]) for row in rows]


def deal_statuses(events: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """The deal status each event tells the CRM."""
    return {data["deal"]["status"] for _type, data in events}


@pytest.fixture
def won(db_session: Session, settings: Settings, user: User,
        prompts: list[Prompt]) -> dict[str, FollowUp]:  # noqa: F811
    account = me(db_session, user)
    webhooks.create(db_session, settings, account, "http://127.0.0.1:9/hook",
                    webhooks.known_events())
    result = answers.answer_prompt(db_session, settings, account, prompts[0],
                                   Answer("yes", after_sale=("check_in", "referral", "upsell")),
                                   now=NOW)
    assert prompts[0].deal.status == "won"
    return {f.kind: f for f in result.planned}


def test_a_no_to_a_check_in_keeps_the_deal_won_and_its_other_touches(
        db_session, settings, user, won) -> None:
    prompt, later = prompted(db_session, settings, won["check_in"])
    assert inbox.is_after_sale(prompt)
    suggestion = inbox.suggestion_for(db_session, settings, me(db_session, user), prompt, later)
    assert "usual" not in suggestion.message and "The deal is won" in suggestion.message
    before = len(sent(db_session))
    answers.answer_prompt(db_session, settings, me(db_session, user), prompt,
                          Answer("no", no_reason="not_interested", note="not happy"),
                          now=later)
    deal = prompt.deal
    assert deal.status == "won"
    assert won["referral"].status == "planned" and won["upsell"].status == "planned"
    events = sent(db_session)[before:]
    assert [t for t, _ in events] == ["outcome.recorded"]  # no deal.lost, nothing cancelled
    assert deal_statuses(events) == {"won"}


def test_a_next_step_on_an_up_sell_plans_another_touch_of_the_won_deal(
        db_session, settings, user, won) -> None:
    prompt, later = prompted(db_session, settings, won["check_in"])
    answers.answer_prompt(db_session, settings, me(db_session, user), prompt,
                          Answer("yes"), now=later)
    upsell, later = prompted(db_session, settings, won["upsell"])
    before = len(sent(db_session))
    step = NextStep("Show them the team plan", later + timedelta(days=3), 30, "call")
    result = answers.answer_prompt(db_session, settings, me(db_session, user), upsell,
                                   Answer("next_step", next_step=step), now=later)
    assert upsell.deal.status == "won"
    assert result.followup is not None and result.followup.kind == "upsell"
    assert result.planned == []  # a yes to a check-in planned no more after-sale touches
    events = sent(db_session)[before:]
    assert {t for t, _ in events} == {"followup.created", "outcome.recorded"}
    assert deal_statuses(events) == {"won"}


def test_a_yes_to_a_check_in_plans_no_new_after_sale_touches(
        db_session, settings, user, won) -> None:
    prompt, later = prompted(db_session, settings, won["check_in"])
    with pytest.raises(ValidationFailed) as refused:
        answers.answer_prompt(db_session, settings, me(db_session, user), prompt,
                              Answer("yes", after_sale=("check_in",)), now=later)
    assert refused.value.field == "after_sale"
    result = answers.answer_prompt(db_session, settings, me(db_session, user), prompt,
                                   Answer("yes"), now=later)
    assert result.planned == [] and prompt.deal.status == "won"
    kinds = db_session.scalars(select(FollowUp.kind).where(FollowUp.status == "planned"))
    assert sorted(kinds) == ["referral", "upsell"]


def test_a_revisit_answered_with_a_next_step_reopens_the_deal_consistently(
        db_session, settings, user, prompts) -> None:  # noqa: F811
    account = me(db_session, user)
    webhooks.create(db_session, settings, account, "http://127.0.0.1:9/hook",
                    webhooks.known_events())
    result = answers.answer_prompt(db_session, settings, account, prompts[0],
                                   Answer("no", no_reason="bad_timing"), now=NOW)
    [revisit] = result.planned
    prompt, later = prompted(db_session, settings, revisit)
    assert not inbox.is_after_sale(prompt) and prompt.deal.status == "lost"
    before = len(sent(db_session))
    step = NextStep("Call about the spring budget", later + timedelta(days=2), 30, "call")
    answers.answer_prompt(db_session, settings, me(db_session, user), prompt,
                          Answer("next_step", next_step=step), now=later)
    assert prompt.deal.status == "open"
    assert deal_statuses(sent(db_session)[before:]) == {"open"}


def test_a_follow_through_after_the_win_keeps_it_won_one_before_decides(
        db_session, settings, user, prompts) -> None:  # noqa: F811
    account = me(db_session, user)
    due = NOW + timedelta(days=9)
    step = NextStep("Send pricing", due - timedelta(days=2), 30, "email", promise_due=due)
    promise = answers.answer_prompt(db_session, settings, account, prompts[0],
                                    Answer("next_step", next_step=step), now=NOW).followup
    assert promise is not None
    asked, later = prompted(db_session, settings, promise)
    answers.answer_prompt(db_session, settings, me(db_session, user), asked,
                          Answer("yes", after_sale=()), now=later)
    through = answers.deliver(db_session, settings, me(db_session, user), promise,
                              now=later).follow_through
    assert asked.deal.status == "won"
    after_win, later = prompted(db_session, settings, through)
    assert inbox.is_after_sale(after_win)
    answers.answer_prompt(db_session, settings, me(db_session, user), after_win,
                          Answer("no"), now=later)
    assert after_win.deal.status == "won"


def test_a_follow_through_of_an_open_deal_decides_and_may_be_changed(
        db_session, settings, user, prompts) -> None:  # noqa: F811
    due = NOW + timedelta(days=9)
    step = NextStep("Send pricing", due - timedelta(days=2), 30, "email", promise_due=due)
    promise = answers.answer_prompt(db_session, settings, me(db_session, user), prompts[0],
                                    Answer("next_step", next_step=step), now=NOW).followup
    assert promise is not None
    through = answers.deliver(db_session, settings, me(db_session, user), promise,
                              now=NOW).follow_through
    asked, later = prompted(db_session, settings, through)
    assert not inbox.is_after_sale(asked)
    answers.answer_prompt(db_session, settings, me(db_session, user), asked,
                          Answer("yes", after_sale=()), now=later)
    assert asked.deal.status == "won" and not inbox.is_after_sale(asked)
    step = NextStep("Call them", later + timedelta(days=2), 30, "call")
    changed = answers.answer_prompt(db_session, settings, me(db_session, user), asked,
                                    Answer("next_step", next_step=step), now=later)
    assert asked.deal.status == "open"
    assert changed.followup is not None and changed.followup.kind == "follow_up"

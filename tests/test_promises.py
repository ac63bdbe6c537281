"""A promise through the services: planned ahead of its deadline, delivered (early, on time,
late) with its follow-through, or not yet (moved before the deadline, warned when too late)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.domain.promises import FOLLOW_THROUGH_STEPS
from calsync.errors import NotFound, ValidationFailed
from calsync.feed.cache import current_feed
from calsync.models import FollowUp, Prompt, User
from calsync.services import answers
from calsync.services import prompts as inbox
from calsync.services.answers import Answer, NextStep
from tests.test_answers import me, prompts  # noqa: F401  (the fixture)
from tests.test_sync import NOW

BERLIN = ZoneInfo("Europe/Berlin")


def _weekday_ahead(days: int, hour: int) -> datetime:
    """A Tuesday to Friday at least `days` ahead of NOW, at `hour` in Berlin."""
    day = NOW.astimezone(BERLIN).date() + timedelta(days=days)
    while day.weekday() not in (1, 2, 3, 4):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def promise(session: Session, settings, user: User, prompt: Prompt,  # type: ignore[no-untyped-def]
            due: datetime, start: datetime | None = None) -> FollowUp:
    step = NextStep("Send pricing", start or due, 30, "email", promise_due=due,
                    value_note="pricing for the pilot")
    result = answers.answer_prompt(session, settings, me(session, user), prompt,
                                   Answer("next_step", next_step=step), now=NOW)
    assert result.followup is not None
    return result.followup


def test_a_promise_is_worked_on_a_working_day_before_its_deadline(
        db_session, settings, user, prompts) -> None:  # noqa: F811
    due = _weekday_ahead(7, 16)
    followup = promise(db_session, settings, user, prompts[0], due)
    assert followup.kind == "promise" and followup.promise_due == due.astimezone(UTC)
    assert followup.start == due - timedelta(days=1)  # Tue-Fri: the day before, 16:00
    assert followup.value_note == "pricing for the pilot"
    assert answers.promise_text(followup) == (
        f"promised for {due:%a} {due.day} {due:%b} 16:00")


def test_an_earlier_time_given_is_kept_and_a_later_one_warned(
        db_session, settings, user, prompts) -> None:  # noqa: F811
    due = _weekday_ahead(7, 16)
    earlier = due - timedelta(days=3)
    assert promise(db_session, settings, user, prompts[0], due, earlier).start == earlier
    step = NextStep("Send pricing", due + timedelta(hours=1), 30, "email",
                    promise_due=due + timedelta(hours=2))
    # The margin's day has not begun: calsync moves it ahead of the promise, no warning.
    result = answers.answer_prompt(db_session, settings, me(db_session, user), prompts[1],
                                   Answer("next_step", next_step=step), now=NOW)
    assert result.followup is not None and result.followup.start < step.promise_due  # type: ignore[operator]
    assert "promise" not in (result.warning or "")


def test_a_promise_in_the_past_is_refused(db_session, settings, user, prompts) -> None:  # noqa: F811
    step = NextStep("Send pricing", NOW + timedelta(days=1), 30, "email",
                    promise_due=NOW - timedelta(hours=1))
    with pytest.raises(ValidationFailed) as refused:
        answers.answer_prompt(db_session, settings, me(db_session, user), prompts[0],
                              Answer("next_step", next_step=step), now=NOW)
    assert refused.value.field == "next_step.promise_due"


def _prompted(session: Session, settings, followup: FollowUp) -> tuple[Prompt, datetime]:  # type: ignore[no-untyped-def]
    later = followup.end + timedelta(minutes=settings.prompt_grace_minutes)
    assert inbox.create_due_prompts(session, settings, later, user_id=followup.user_id) == 1
    prompt = session.scalar(select(Prompt).where(Prompt.followup_id == followup.id))
    assert prompt is not None
    return prompt, later


def test_delivered_early_answers_the_prompt_and_plans_the_follow_through(
        db_session, settings, user, prompts) -> None:  # noqa: F811
    due = _weekday_ahead(7, 16)
    followup = promise(db_session, settings, user, prompts[0], due)
    prompt, later = _prompted(db_session, settings, followup)
    delivery = answers.deliver(db_session, settings, me(db_session, user), followup,
                               now=later)
    assert delivery.timing == "early" and followup.delivered_at == later
    assert followup.status == "done"
    assert prompt.status == "answered" and prompt.outcome == "next_step"
    through = delivery.follow_through
    assert prompt.planned_followup_id == through.id
    assert (through.kind, through.status, through.channel) == ("follow_through", "planned",
                                                               "email")
    # Two working days after delivering (Wed-Sat delivery: Fri-Tue), same wall time.
    assert through.start.astimezone(BERLIN).time() == time(10, 0)  # the usual hour
    assert 2 <= (through.start.date() - later.date()).days <= 4
    # Its calendar entry lists the four steps of following through.
    feed = current_feed(db_session, settings, me(db_session, user), later).body.decode()
    unfolded = feed.replace("\r\n ", "")
    assert "Follow-through · Email" in unfolded
    assert all(step.replace(",", "\\,") in unfolded for step in FOLLOW_THROUGH_STEPS)
    # The promise's own entry now says it was delivered, and is no longer work to do.
    assert "Delivered · Email" in unfolded and "Delivered early" in unfolded
    assert "Promised for" not in unfolded
    assert "What you bring them: pricing for the pilot" in unfolded
    # Delivering again is the same delivery, not a second follow-through.
    again = answers.deliver(db_session, settings, me(db_session, user), followup,
                            now=later + timedelta(minutes=5))
    assert again.follow_through.id == through.id and again.timing == "early"


def test_delivered_on_time_and_late(db_session, settings, user, prompts) -> None:  # noqa: F811
    due = _weekday_ahead(7, 16)
    first = promise(db_session, settings, user, prompts[0], due)
    on_time = answers.deliver(db_session, settings, me(db_session, user), first,
                              at=due - timedelta(hours=2), now=due)
    assert on_time.timing == "on_time" and on_time.prompt is None  # delivered before asked
    second = promise(db_session, settings, user, prompts[1], due + timedelta(days=7))
    late = answers.deliver(db_session, settings, me(db_session, user), second,
                           now=due + timedelta(days=7, minutes=1))
    assert late.timing == "late"
    assert answers.promise_kept(second) == "late"


def test_only_a_promise_of_ones_own_is_delivered(db_session, settings, user, make_user,
                                                 prompts) -> None:  # noqa: F811
    plain = answers.answer_prompt(
        db_session, settings, me(db_session, user), prompts[0],
        Answer("next_step", next_step=NextStep("Call", NOW + timedelta(days=3), 30, "call")),
        now=NOW).followup
    assert plain is not None and plain.kind == "follow_up"
    with pytest.raises(ValidationFailed):
        answers.deliver(db_session, settings, me(db_session, user), plain, now=NOW)
    other = make_user("bo@other.example")
    with pytest.raises(NotFound):
        answers.deliver(db_session, settings, me(db_session, other), plain, now=NOW)


def test_not_yet_moves_it_before_the_deadline(db_session, settings, user, prompts) -> None:  # noqa: F811
    due = _weekday_ahead(7, 16)
    followup = promise(db_session, settings, user, prompts[0], due)
    prompt, later = _prompted(db_session, settings, followup)
    result = answers.not_yet(db_session, settings, me(db_session, user), prompt, now=later)
    assert result.warning is None
    assert later < followup.start and followup.end <= due
    assert prompt.status == "snoozed" and prompt.snoozed_until == followup.end


def test_not_yet_after_the_deadline_warns(db_session, settings, user, prompts) -> None:  # noqa: F811
    due = _weekday_ahead(7, 16)
    followup = promise(db_session, settings, user, prompts[0], due)
    prompt, _ = _prompted(db_session, settings, followup)
    result = answers.not_yet(db_session, settings, me(db_session, user), prompt,
                             now=due + timedelta(minutes=5))
    assert result.warning is not None and "no time left" in result.warning
    assert "promised for" in result.warning


def test_the_calendar_event_names_the_kind_promise_and_value(db_session, settings, user,
                                                             prompts) -> None:  # noqa: F811
    from calsync.jobs import writeback
    from calsync.models import Source

    due = _weekday_ahead(7, 16)
    followup = promise(db_session, settings, user, prompts[0], due)
    event = writeback.outgoing_event(db_session, settings, followup, Source(options={}))
    assert event.summary.startswith("Promise · Email: ")
    lines = event.description.splitlines()
    assert "Kind: Promise" in lines
    assert f"Promised for {due:%a} {due.day} {due:%b} 16:00." in lines
    assert "What you bring them: pricing for the pilot" in lines


def test_a_promise_answered_with_a_plain_next_step_carries_on(db_session, settings, user,
                                                            prompts) -> None:  # noqa: F811
    due = _weekday_ahead(7, 16)
    followup = promise(db_session, settings, user, prompts[0], due)
    prompt, later = _prompted(db_session, settings, followup)
    # "Call them tomorrow" instead of Delivered: still working towards the promise.
    step = NextStep("Call about pricing", later + timedelta(days=1), 30, "call")
    result = answers.answer_prompt(db_session, settings, me(db_session, user), prompt,
                                   Answer("next_step", next_step=step), now=later)
    carried = result.followup
    assert carried is not None and carried.id != followup.id
    assert (carried.kind, carried.promise_due, carried.value_note) == (
        "promise", followup.promise_due, "pricing for the pilot")
    assert carried.summary == "Call about pricing"
    # Delivered on its own prompt, it counts as the promise kept.
    delivered = later + timedelta(hours=1)
    delivery = answers.deliver(db_session, settings, me(db_session, user), carried,
                               at=delivered, now=delivered)
    assert delivery.timing == "early"

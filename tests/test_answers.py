"""Answers move deals and follow-ups: next steps plan, yes/no close, changes follow through,
follow-ups come back as prompts of their own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.errors import PromptAlreadyAnswered, ValidationFailed
from calsync.jobs import sync
from calsync.models import Deal, FollowUp, Prompt, SkippedSeries, User
from calsync.services import answers, deals
from calsync.services import prompts as inbox
from calsync.services import sources as sources_service
from calsync.services.answers import Answer, NextStep
from tests.at_once import at_once
from tests.memory_source import memory_source
from tests.plugins import memory
from tests.test_sync import NOW, meeting


@pytest.fixture
def prompts(db_session: Session, settings, user: User) -> Iterator[list[Prompt]]:  # type: ignore[no-untyped-def]
    with memory_source(db_session, user, NOW) as source:
        memory.CALENDARS[source.id] = [
            meeting("first", hours_ago=50),
            meeting("second", hours_ago=3),
            meeting("weekly", hours_ago=6, rid="w1", title="Weekly sync with Prospect"),
        ]
        sync.sync_source(db_session, settings, source.id, now=NOW)
        yield list(db_session.scalars(inbox.prompts_query(user, "pending")))


def me(session: Session, user: User) -> User:
    return session.get(User, user.id)  # type: ignore[return-value]


def step(days: int = 3, channel: str = "call") -> NextStep:
    return NextStep("Send pricing", NOW + timedelta(days=days), 30, channel)


def test_inbox_is_newest_first_in_one_deal(prompts: list[Prompt]) -> None:
    assert [p.meeting.uid for p in prompts] == ["second", "weekly", "first"]
    assert len({p.deal_id for p in prompts}) == 1


def test_next_step_plans_a_followup_and_counts_the_touch(db_session, settings, user,
                                                         prompts) -> None:
    result = answers.answer_prompt(db_session, settings, me(db_session, user), prompts[2],
                                   Answer("next_step", note="Liked the demo", next_step=step()))
    followup = result.followup
    assert followup is not None and followup.status == "planned"
    assert (followup.summary, followup.channel, followup.note) == ("Send pricing", "call",
                                                                   "Liked the demo")
    assert followup.end - followup.start == timedelta(minutes=30)
    assert inbox.deal_touches(db_session, prompts[2].deal_id) == 1
    assert prompts[2].deal.status == "open"
    context = inbox.touch_contexts(db_session, [prompts[0]])[prompts[0].id]
    assert context.touches_before == 1  # the answered one came before
    assert context.promised_channel == "call"  # what the last touch promised


def test_changing_the_answer_moves_the_deal_and_followup(db_session, settings, user,
                                                         prompts) -> None:
    account = me(db_session, user)
    first = answers.answer_prompt(db_session, settings, account, prompts[0],
                                  Answer("next_step", next_step=step())).followup
    assert first is not None
    answers.answer_prompt(db_session, settings, account, prompts[0],
                          Answer("next_step", next_step=step(days=5, channel="email")))
    assert (first.channel, first.sequence, first.status) == ("email", 1, "planned")

    answers.answer_prompt(db_session, settings, account, prompts[0], Answer("yes"))
    assert first.status == "cancelled" and first.cancelled_at is not None
    assert prompts[0].deal.status == "won"

    answers.answer_prompt(db_session, settings, account, prompts[0],
                          Answer("next_step", next_step=step()))
    assert first.status == "planned" and prompts[0].deal.status == "open"
    assert db_session.scalar(select(FollowUp.id).where(FollowUp.id != first.id)) is None


def test_a_passed_followup_is_prompted_and_yes_closes(db_session, settings, user,
                                                      prompts) -> None:
    account = me(db_session, user)
    followup = answers.answer_prompt(db_session, settings, account, prompts[0],
                                     Answer("next_step", next_step=step(days=2))).followup
    assert followup is not None
    later = followup.end + timedelta(minutes=settings.prompt_grace_minutes)
    assert inbox.create_due_prompts(db_session, settings, later, user_id=user.id) == 1
    touch = db_session.scalar(select(Prompt).where(Prompt.followup_id == followup.id))
    assert touch.deal_id == prompts[0].deal_id
    suggestion = inbox.suggestion_for(db_session, settings, account, touch, now=later)
    assert suggestion.channel == "call"  # the channel promised at the last touch
    # The meeting, the two older ones its answer covered, this follow-up, then the next.
    assert suggestion.touch_number == 5

    answers.answer_prompt(db_session, settings, account, touch, Answer("no", no_reason="no_budget"),
                          now=later)
    assert followup.status == "done"
    assert touch.deal.status == "lost" and touch.no_reason == "no_budget"


def test_closing_a_deal_cancels_its_future_plans(db_session, settings, user, prompts) -> None:
    account = me(db_session, user)
    planned = answers.answer_prompt(db_session, settings, account, prompts[2],
                                    Answer("next_step", next_step=step(days=4))).followup
    answers.answer_prompt(db_session, settings, account, prompts[0], Answer("yes"))
    assert planned is not None and planned.status == "cancelled"


@pytest.mark.parametrize(("answer", "field"), [
    (Answer("maybe"), "outcome"),
    (Answer("next_step"), "next_step"),
    (Answer("yes", next_step=step()), "next_step"),
    (Answer("no", no_reason="too_pushy"), "no_reason"),
    (Answer("next_step", next_step=NextStep("", NOW, 30, "call")), "next_step.summary"),
    (Answer("next_step", next_step=NextStep("x", NOW, 30, "fax")), "next_step.channel"),
    (Answer("next_step", next_step=NextStep("x", NOW, 2, "call")),
     "next_step.duration_minutes"),
    (Answer("next_step", next_step=NextStep("x", NOW.replace(tzinfo=None), 30, "call")),
     "next_step.start"),
])
def test_bad_answers_name_the_field_and_change_nothing(db_session, settings, user, prompts,
                                                       answer, field) -> None:
    with pytest.raises(ValidationFailed) as caught:
        answers.answer_prompt(db_session, settings, me(db_session, user), prompts[0], answer)
    assert caught.value.field == field
    db_session.rollback()
    assert prompts[0].status == "pending"


def test_spacing_warning_when_too_soon(db_session, settings, user, prompts) -> None:
    result = answers.answer_prompt(
        db_session, settings, me(db_session, user), prompts[0],
        Answer("next_step", next_step=NextStep("Check in", prompts[0].touch_at
                                               + timedelta(hours=4), 15, "call")))
    assert result.warning


def test_dismiss_skips_the_series(db_session, settings, user, prompts) -> None:
    weekly = prompts[1]
    answers.dismiss(db_session, weekly, skip_series=True)
    assert weekly.status == "dismissed"
    assert db_session.scalar(select(SkippedSeries.series_uid)) == "weekly"
    source_id = weekly.meeting.source_id
    memory.CALENDARS[source_id] = [*memory.CALENDARS[source_id],
                                   meeting("weekly", hours_ago=1, rid="w2")]
    sync.sync_source(db_session, settings, source_id, now=NOW)
    assert db_session.scalar(select(Prompt).join(Prompt.meeting).where(
        Prompt.meeting.has(recurrence_id="w2"))) is None


def test_didnt_happen_reschedules_without_a_touch(db_session, settings, user, prompts) -> None:
    followup = answers.didnt_happen(db_session, me(db_session, user), prompts[0],
                                    NextStep("Demo, take two", NOW + timedelta(days=1), 60,
                                             "meeting"))
    assert followup is not None and followup.status == "planned"
    assert prompts[0].status == "dismissed" and prompts[0].dismiss_reason == "didnt_happen"
    assert inbox.deal_touches(db_session, prompts[0].deal_id) == 0


def test_snooze_hides_until_woken(db_session, settings, user, prompts) -> None:
    answers.snooze(db_session, prompts[0], NOW + timedelta(hours=1), now=NOW)
    assert prompts[0] not in list(db_session.scalars(inbox.prompts_query(user, "pending")))
    inbox.wake_snoozed(db_session, NOW + timedelta(hours=2))
    db_session.refresh(prompts[0])
    assert prompts[0].status == "pending"
    with pytest.raises(ValidationFailed):
        answers.snooze(db_session, prompts[0], NOW - timedelta(minutes=1), now=NOW)


def test_move_to_another_deal_recomputes_both(db_session, settings, user, prompts) -> None:
    account = me(db_session, user)
    answers.answer_prompt(db_session, settings, account, prompts[0], Answer("yes"))
    original: Deal = prompts[0].deal
    other = deals.create_deal(db_session, account, "Prospect — second team")
    answers.move_to_deal(db_session, account, prompts[0], other)
    assert other.status == "won"
    assert original.status == "open"
    assert [e.prompt.id for e in deals.timeline(db_session, other) if e.prompt] == [prompts[0].id]


def test_prompts_are_created_once_per_touch(db_session, settings, user, prompts) -> None:
    assert inbox.create_due_prompts(db_session, settings, NOW, user_id=user.id) == 0
    assert inbox.create_due_prompts(db_session, settings, NOW + timedelta(days=1)) == 0


def test_removing_a_calendar_keeps_every_answer(db_session, settings, user, prompts) -> None:
    account = me(db_session, user)
    # The oldest answered: the newer ones still wait (an answer covers only older prompts).
    answers.answer_prompt(db_session, settings, account, prompts[2],
                          Answer("next_step", note="Wants a pilot", next_step=step()))
    answered_id, waiting_id = prompts[2].id, prompts[0].id
    sources_service.delete_source(db_session, prompts[2].meeting.source)
    db_session.expunge_all()
    kept = db_session.get(Prompt, answered_id)
    assert kept.note == "Wants a pilot" and kept.meeting.title == "Demo"
    assert kept.meeting.source_id is None
    assert db_session.get(Prompt, waiting_id) is None  # unanswered ones go with the calendar
    assert db_session.scalar(select(FollowUp.summary)) == "Send pricing"


def test_skipping_a_series_clears_its_waiting_prompts(db_session, settings, user,
                                                      prompts) -> None:
    source_id = prompts[1].meeting.source_id
    memory.CALENDARS[source_id] = [*memory.CALENDARS[source_id],
                                   meeting("weekly", hours_ago=4, rid="w0")]
    sync.sync_source(db_session, settings, source_id, now=NOW)
    waiting = db_session.scalar(select(Prompt).where(Prompt.meeting.has(recurrence_id="w0")))
    assert waiting.status == "pending"
    answers.dismiss(db_session, prompts[1], skip_series=True)
    db_session.refresh(waiting)
    assert waiting.status == "dismissed"


def test_a_double_submitted_next_step_plans_one_follow_up(app, settings, user, prompts) -> None:  # type: ignore[no-untyped-def]
    import threading

    from calsync.db import get_db

    def submit(start: threading.Barrier) -> None:
        with app.app_context(), get_db().session() as session:
            prompt = session.get(Prompt, prompts[0].id)
            account = session.get(User, user.id)
            start.wait()
            answers.answer_prompt(session, settings, account, prompt,
                                  Answer("next_step", next_step=step()))

    assert at_once(submit, timeout=30) == []
    with app.app_context(), get_db().session() as session:
        assert len(session.scalars(select(FollowUp)).all()) == 1


@pytest.mark.parametrize(("start", "words"), [
    (NOW - timedelta(minutes=5), "already passed"),
    (NOW + timedelta(days=2 * 365 + 1), "two years ahead"),
])
def test_a_next_step_must_be_ahead_and_within_two_years(db_session, settings, user, prompts,
                                                        start, words) -> None:
    account, bad = me(db_session, user), NextStep("Call", start, 30, "call")
    for act in (lambda: answers.answer_prompt(db_session, settings, account, prompts[0],
                                              Answer("next_step", next_step=bad), now=NOW),
                lambda: answers.didnt_happen(db_session, account, prompts[0], bad, NOW)):
        with pytest.raises(ValidationFailed) as caught:
            act()
        assert caught.value.field == "next_step.start" and words in caught.value.message
        db_session.rollback()
    assert prompts[0].status == "pending"
    # The minute that is running still counts: the page picks whole minutes.
    this_minute = NextStep("Call", NOW.replace(second=0), 30, "call")
    answers.check_next_step(this_minute, NOW.replace(second=59))


def test_snooze_dismiss_and_didnt_happen_keep_the_note(db_session, settings, user,
                                                       prompts) -> None:
    first, weekly, second = prompts[2], prompts[1], prompts[0]
    answers.snooze(db_session, first, NOW + timedelta(hours=1), now=NOW, note=" Call Tue \x00")
    answers.dismiss(db_session, weekly, note="Team sync")
    answers.didnt_happen(db_session, me(db_session, user), second,
                         NextStep("Demo again", NOW + timedelta(days=1), 30, "meeting"), NOW,
                         note="They were ill")
    assert (first.note, weekly.note, second.note) == ("Call Tue", "Team sync", "They were ill")
    assert second.planned_followup is not None
    assert second.planned_followup.note == "They were ill"
    inbox.wake_snoozed(db_session, NOW + timedelta(hours=2))
    db_session.refresh(first)
    assert (first.status, first.note) == ("pending", "Call Tue")  # back, with its note


def test_a_newer_answer_is_replaced_only_knowingly(db_session, settings, user, prompts) -> None:
    account, prompt = me(db_session, user), prompts[0]
    seen = answers.version(prompt)
    answers.answer_prompt(db_session, settings, account, prompt, Answer("yes"), replace=False,
                          seen=seen)
    # The same answer again (a double click) is no conflict; another one is.
    answers.answer_prompt(db_session, settings, account, prompt, Answer("yes"), replace=False,
                          seen=seen)
    with pytest.raises(PromptAlreadyAnswered) as caught:
        answers.answer_prompt(db_session, settings, account, prompt, Answer("no"),
                              replace=False, seen=seen)
    assert caught.value.code == "prompt_already_answered"
    assert caught.value.recorded.startswith("Yes")
    db_session.rollback()
    assert prompt.outcome == "yes"
    # Having seen the answer, changing it is knowing.
    answers.answer_prompt(db_session, settings, account, prompt, Answer("no"), replace=False,
                          seen=answers.version(prompt))
    assert prompt.outcome == "no"

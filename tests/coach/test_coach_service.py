"""services.coach on a known week: the lists, why a follow-up was missed, rescheduling it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.domain.vocabulary import (
    DismissReason,
    FollowUpKind,
    FollowUpStatus,
    MissedReason,
    PromptStatus,
)
from calsync.errors import NotFound, ValidationFailed
from calsync.models import FollowUp, Prompt, User
from calsync.services import coach
from tests.coach.history import NOW, Week, local, make_week


@pytest.fixture
def week(db_session: Session, user: User) -> Week:
    return make_week(db_session, user.id)


def me(session: Session, user: User) -> User:
    return session.get(User, user.id)  # type: ignore[return-value]


def test_the_coach_reads_the_week(db_session, settings, user, week: Week) -> None:
    said = coach.coaching_for(db_session, settings, me(db_session, user), NOW)
    assert [f.id for f in said.due_today] == [week.today.id]
    assert [f.id for f in said.missed] == [week.missed.id]
    assert [p.title for p in said.prompts_waiting] == ["Call about the trial"]
    assert [d.name for d in said.unplanned_deals] == ["Beta"]
    assert [(d.name, d.touches) for d in said.deals_to_close] == [("Beta", 7)]
    assert (said.record.on_time, said.record.late, said.record.missed) == (1, 0, 1)


def test_a_reason_is_recorded_on_the_follow_up(db_session, settings, user, week: Week) -> None:
    followup = coach.record_missed_reason(db_session, me(db_session, user), week.missed.id,
                                          "waiting", "", NOW)
    assert (followup.missed_reason, followup.missed_reason_at) == (MissedReason.WAITING, NOW)
    db_session.expire_all()
    said = coach.coaching_for(db_session, settings, me(db_session, user), NOW)
    assert said.record.reasons == {MissedReason.WAITING: 1}
    again = coach.record_missed_reason(db_session, me(db_session, user), week.missed.id,
                                       "other", "  Their CFO was away\x00 ", NOW)
    assert (again.missed_reason, again.missed_note) == (MissedReason.OTHER,
                                                        "Their CFO was away")


@pytest.mark.parametrize(("reason", "note", "field"), [
    ("busy", "", "reason"),
    ("other", "   ", "note"),
    ("forgot", "x" * (coach.MAX_MISSED_NOTE + 1), "note"),
])
def test_a_reason_is_checked(db_session, user, week: Week, reason: str, note: str,
                             field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        coach.record_missed_reason(db_session, me(db_session, user), week.missed.id, reason,
                                   note, NOW)
    assert refused.value.field == field
    db_session.rollback()
    assert db_session.get(FollowUp, week.missed.id).missed_reason is None


def test_no_reason_before_its_time_nor_for_someone_else(db_session, user, make_user,
                                                        week: Week) -> None:
    with pytest.raises(ValidationFailed):
        coach.record_missed_reason(db_session, me(db_session, user), week.today.id, "forgot",
                                   "", NOW)
    other = make_user("bo@other.com")
    with pytest.raises(NotFound):
        coach.record_missed_reason(db_session, me(db_session, other), week.missed.id, "forgot",
                                   "", NOW)


def test_rescheduling_a_missed_follow_up(db_session, settings, user, week: Week) -> None:
    new_start = local(14, 10)
    planned = coach.reschedule_missed(db_session, me(db_session, user), week.missed.id,
                                      new_start, NOW)
    assert (planned.start, planned.end - planned.start) == (new_start, timedelta(minutes=30))
    assert (planned.summary, planned.channel, planned.status) == (
        "Call about the trial", "call", FollowUpStatus.PLANNED)
    db_session.expire_all()
    old = db_session.get(FollowUp, week.missed.id)
    assert old.status is FollowUpStatus.CANCELLED
    prompt = db_session.scalar(select(Prompt).where(Prompt.followup_id == old.id))
    assert (prompt.status, prompt.dismiss_reason) == (PromptStatus.DISMISSED,
                                                      DismissReason.DIDNT_HAPPEN)
    said = coach.coaching_for(db_session, settings, me(db_session, user), NOW)
    assert said.missed == ()
    assert said.record.missed == 1  # it was missed all the same
    assert said.prompts_waiting == ()


def test_a_rescheduled_promise_stays_a_promise(db_session, user, week: Week) -> None:
    missed = db_session.get(FollowUp, week.missed.id)
    missed.kind, missed.promise_due = FollowUpKind.PROMISE, local(16, 16)
    missed.value_note = "the pilot's pricing"
    db_session.commit()
    planned = coach.reschedule_missed(db_session, me(db_session, user), week.missed.id,
                                      local(14, 10), NOW)
    assert (planned.kind, planned.promise_due, planned.value_note) == (
        FollowUpKind.PROMISE, local(16, 16), "the pilot's pricing")


def test_rescheduling_before_the_prompt_was_asked(db_session, user, week: Week) -> None:
    just_over = week.today.end + timedelta(minutes=1)  # inside the grace period: no prompt yet
    planned = coach.reschedule_missed(db_session, me(db_session, user), week.today.id,
                                      local(15, 10), just_over)
    assert planned.id != week.today.id and planned.start == local(15, 10)


@pytest.mark.parametrize("when", [NOW - timedelta(minutes=1), NOW])
def test_rescheduling_needs_a_time_ahead(db_session, user, week: Week, when) -> None:
    with pytest.raises(ValidationFailed) as refused:
        coach.reschedule_missed(db_session, me(db_session, user), week.missed.id, when, NOW)
    assert refused.value.field == "start"


def test_only_a_missed_follow_up_is_rescheduled(db_session, user, week: Week) -> None:
    for followup in (week.today, week.on_time):
        with pytest.raises(ValidationFailed):
            coach.reschedule_missed(db_session, me(db_session, user), followup.id,
                                    local(15, 10), NOW)

"""A promise whose margin has begun is planned before its deadline, the way Not yet does;
times calsync picks itself are on five-minute marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calsync.domain.promises import catch_up_start, round_up
from calsync.services import answers
from calsync.services.answers import Answer, NextStep
from tests.test_answers import me, prompts  # noqa: F401  (the fixture)
from tests.test_sync import NOW

T = datetime(2026, 12, 2, 5, 23, 29, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def test_round_up_to_five_minutes() -> None:
    assert round_up(T) == datetime(2026, 12, 2, 5, 25, tzinfo=UTC)
    assert round_up(T.replace(minute=25, second=0)) == T.replace(minute=25, second=0)
    assert round_up(T.replace(minute=58)) == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def test_catch_up_takes_the_usual_slot_then_an_hour_then_five_minutes() -> None:
    usual = T + timedelta(hours=4)
    assert catch_up_start(T + timedelta(hours=6), HALF_HOUR, usual, T) == (usual, True)
    assert catch_up_start(T + timedelta(hours=3), HALF_HOUR, usual, T) == (
        datetime(2026, 12, 2, 6, 25, tzinfo=UTC), True)
    assert catch_up_start(T + timedelta(minutes=45), HALF_HOUR, usual, T) == (
        datetime(2026, 12, 2, 5, 30, tzinfo=UTC), True)
    late, fits = catch_up_start(T + timedelta(minutes=10), HALF_HOUR, usual, T)
    assert not fits and late == datetime(2026, 12, 2, 6, 25, tzinfo=UTC)


def _promise_due_in(session, settings, user, prompt, left: timedelta):  # type: ignore[no-untyped-def]
    """Answer with a promise due `left` from now, as the form sends it when only the
    promise is typed: the work itself at the cadence's suggestion, tomorrow."""
    step = NextStep("Urgent quote", NOW + timedelta(days=1), 30, "email",
                    promise_due=NOW + left)
    result = answers.answer_prompt(session, settings, me(session, user), prompt,
                                   Answer("next_step", next_step=step), now=NOW)
    followup = result.followup
    assert followup is not None
    assert followup.start.second == 0 and followup.start.minute % 5 == 0  # on 5-minute marks
    return result


def test_a_promise_due_within_the_margin_is_planned_before_it(db_session, settings, user,
                                                              prompts) -> None:  # noqa: F811
    result = _promise_due_in(db_session, settings, user, prompts[0], timedelta(hours=3))
    assert result.followup.start > NOW and result.followup.end <= NOW + timedelta(hours=3)
    assert "promise" not in (result.warning or "")


def test_no_time_left_is_warned_and_rounded(db_session, settings, user,
                                            prompts) -> None:  # noqa: F811
    result = _promise_due_in(db_session, settings, user, prompts[0], timedelta(minutes=20))
    assert result.warning is not None and "after your promise" in result.warning

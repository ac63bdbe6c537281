"""The coach's rules on a fixed clock: a week of follow-ups in Berlin, Wednesday 13 March 2024."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calsync.domain.cadence import Cadence
from calsync.domain.coaching import (
    DealFact,
    FollowUpFact,
    PromptFact,
    coach,
    digest_day,
    one_working_day_after,
    timeliness,
    week_record,
)
from calsync.domain.vocabulary import (
    DealStatus,
    FollowUpStatus,
    MissedReason,
    PromptStatus,
    Timeliness,
)

BERLIN = ZoneInfo("Europe/Berlin")
CADENCE = Cadence()
NOW = datetime(2024, 3, 13, 9, 0, tzinfo=BERLIN).astimezone(UTC)  # Wednesday 09:00


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def followup(fid: int, start: datetime, *, status: FollowUpStatus = FollowUpStatus.PLANNED,
             **facts: object) -> FollowUpFact:
    base = FollowUpFact(id=fid, deal_id=fid, deal_name=f"Deal {fid}", summary=f"Call {fid}",
                        start=start, end=start + timedelta(minutes=30), status=status)
    return replace(base, **facts)


def answered(fid: int, start: datetime, at: datetime, **facts: object) -> FollowUpFact:
    return followup(fid, start, status=FollowUpStatus.DONE, prompt_status=PromptStatus.ANSWERED,
                    answered_at=at, **facts)


WEEK = [
    # Answered the same day: on time.
    answered(1, local(7, 10), local(7, 15)),
    # Friday 10:00, answered Monday 09:59: within one working day (the weekend skipped).
    answered(2, local(8, 10), local(11, 9, 59)),
    # Friday 14:00, answered Tuesday: late, and the user said why.
    answered(3, local(8, 14), local(12, 11), missed_reason=MissedReason.NO_TIME),
    # Monday, never answered, its prompt waiting: missed, a reason given.
    followup(4, local(11, 10), prompt_status=PromptStatus.PENDING,
             missed_reason=MissedReason.WAITING),
    # Tuesday, no prompt yet and none answered: missed, no reason yet.
    followup(5, local(12, 16)),
    # Tuesday, its prompt snoozed: still missed.
    followup(6, local(12, 11), prompt_status=PromptStatus.SNOOZED),
    # Cancelled before its time (the deal closed): nothing missed.
    followup(7, local(10, 10, month=3), status=FollowUpStatus.CANCELLED,
             cancelled_at=local(9, 12)),
    # Rescheduled after its time passed: missed in the record, gone from the list.
    followup(8, local(11, 14), status=FollowUpStatus.CANCELLED, cancelled_at=local(12, 9),
             missed_reason=MissedReason.FORGOT),
    # Today: one over already (missed), one later today (due), one tomorrow (neither).
    followup(9, local(13, 7)),
    followup(10, local(13, 15)),
    followup(11, local(14, 10)),
    # Eight days ago: out of the record, but still missed.
    followup(12, local(5, 10)),
    # Its prompt dismissed ("didn't happen"): not on the missed list, missed in the record.
    followup(13, local(11, 16), prompt_status=PromptStatus.DISMISSED),
]


def ids(facts: tuple[FollowUpFact, ...] | tuple[DealFact, ...]) -> list[int]:
    return [fact.id for fact in facts]


def test_due_today_is_what_is_still_ahead_today_in_the_users_zone() -> None:
    result = coach(WEEK, [], [], CADENCE, BERLIN, NOW)
    assert ids(result.due_today) == [10]


def test_due_today_follows_the_zone_not_utc() -> None:
    # 00:30 in Berlin on Thursday is still Wednesday in UTC: not due "today" on Wednesday.
    late_night = followup(20, local(14, 0, 30))
    assert coach([late_night], [], [], CADENCE, BERLIN, NOW).due_today == ()
    assert ids(coach([late_night], [], [], CADENCE, ZoneInfo("UTC"), NOW).due_today) == [20]


def test_missed_is_planned_over_and_unanswered_those_without_a_reason_first() -> None:
    result = coach(WEEK, [], [], CADENCE, BERLIN, NOW)
    assert ids(result.missed) == [12, 6, 5, 9, 4]
    assert result.missed[-1].missed_reason is MissedReason.WAITING


def test_a_follow_up_under_way_is_due_not_missed_until_it_ends() -> None:
    call = [followup(10, local(13, 15))]  # 15:00-15:30
    under_way = coach(call, [], [], CADENCE, BERLIN, local(13, 15, 29))
    assert (ids(under_way.due_today), under_way.missed) == ([10], ())
    over = coach(call, [], [], CADENCE, BERLIN, local(13, 15, 30))
    assert (over.due_today, ids(over.missed)) == ((), [10])


def test_the_weeks_record_counts_on_time_late_and_missed() -> None:
    record = coach(WEEK, [], [], CADENCE, BERLIN, NOW).record
    assert (record.on_time, record.late, record.missed) == (2, 1, 6)
    assert record.since == NOW - timedelta(days=7)


def test_the_weeks_record_lists_the_reasons_given() -> None:
    record = week_record(WEEK, CADENCE, BERLIN, NOW)
    assert ids(record.explained) == [3, 4, 8]
    assert record.reasons == {MissedReason.NO_TIME: 1, MissedReason.WAITING: 1,
                              MissedReason.FORGOT: 1}


def test_a_reason_on_a_follow_up_done_on_time_is_not_counted() -> None:
    done = answered(1, local(12, 10), local(12, 11), missed_reason=MissedReason.FORGOT)
    assert week_record([done], CADENCE, BERLIN, NOW).reasons == {}


def test_an_empty_week() -> None:
    record = week_record([], CADENCE, BERLIN, NOW)
    assert (record.on_time, record.late, record.missed, record.reasons) == (0, 0, 0, {})


@pytest.mark.parametrize(("start", "answer", "expected"), [
    (local(11, 10), local(12, 10), Timeliness.ON_TIME),  # Monday -> Tuesday same time
    (local(11, 10), local(12, 10, 1), Timeliness.LATE),
    (local(8, 10), local(11, 10), Timeliness.ON_TIME),  # Friday -> Monday
    (local(8, 10), local(11, 10, 1), Timeliness.LATE),
    (local(9, 10), local(11, 10), Timeliness.ON_TIME),  # Saturday -> Monday
    (local(11, 10), local(11, 9), Timeliness.ON_TIME),  # answered before its time
    (local(11, 10), None, Timeliness.MISSED),
])
def test_timeliness_is_one_working_day(start: datetime, answer: datetime | None,
                                       expected: Timeliness) -> None:
    fact = followup(1, start, answered_at=answer)
    assert timeliness(fact, CADENCE, BERLIN, NOW) is expected


def test_timeliness_of_one_not_over_is_none() -> None:
    assert timeliness(followup(1, local(13, 15)), CADENCE, BERLIN, NOW) is None


def test_one_working_day_follows_the_users_working_days() -> None:
    six_days = Cadence(working_days=frozenset({0, 1, 2, 3, 4, 5}))
    assert one_working_day_after(local(8, 10), six_days, BERLIN) == local(9, 10)
    assert one_working_day_after(local(8, 10), CADENCE, BERLIN) == local(11, 10)


def test_one_working_day_keeps_the_wall_time_across_a_dst_change() -> None:
    # Friday 29 March 10:00 CET -> Monday 1 April 10:00 CEST: 71 hours, not 72.
    after = one_working_day_after(local(29, 10), CADENCE, BERLIN)
    assert after == local(1, 10, month=4)
    assert after - local(29, 10) == timedelta(hours=71)


def test_prompts_waiting_oldest_first() -> None:
    prompts = [PromptFact(2, "Demo", local(12, 11)), PromptFact(1, "Intro", local(11, 11))]
    result = coach([], prompts, [], CADENCE, BERLIN, NOW)
    assert [p.title for p in result.prompts_waiting] == ["Intro", "Demo"]


def test_deals_without_a_next_touch_and_past_the_cadence() -> None:
    deals = [
        DealFact(1, "acme", DealStatus.OPEN, 2, None),
        DealFact(2, "Beta", DealStatus.OPEN, 3, local(14, 10)),
        DealFact(3, "Gamma", DealStatus.WON, 9, None),
        DealFact(4, "Delta", DealStatus.OPEN, CADENCE.suggest_close_after, local(15, 10)),
        DealFact(5, "Epsilon", DealStatus.OPEN, CADENCE.suggest_close_after - 1, None),
        DealFact(6, "Zeta", DealStatus.LOST, 12, None),
        DealFact(7, "Eta", DealStatus.OPEN, 11, None),
    ]
    result = coach([], [], deals, CADENCE, BERLIN, NOW)
    assert ids(result.unplanned_deals) == [1, 5, 7]
    assert ids(result.deals_to_close) == [4, 7]


def test_the_users_cadence_decides_when_to_ask_for_a_yes_or_no() -> None:
    deal = DealFact(1, "Acme", DealStatus.OPEN, 4, local(14, 10))
    assert coach([], [], [deal], CADENCE, BERLIN, NOW).deals_to_close == ()
    short = Cadence(usual_touches=(2, 3), suggest_close_after=4)
    assert ids(coach([], [], [deal], short, BERLIN, NOW).deals_to_close) == [1]


# The digest: at the user's hour on a working day in their zone, DST-correct.

NEW_YORK = ZoneInfo("America/New_York")


def test_digest_at_the_users_hour_on_a_working_day() -> None:
    assert digest_day(local(13, 8), BERLIN, 8, CADENCE) == date(2024, 3, 13)
    assert digest_day(local(13, 7, 59), BERLIN, 8, CADENCE) is None
    assert digest_day(local(13, 10, 59), BERLIN, 8, CADENCE) == date(2024, 3, 13)
    assert digest_day(local(13, 11), BERLIN, 8, CADENCE) is None


def test_no_digest_on_a_day_off() -> None:
    assert digest_day(local(16, 8), BERLIN, 8, CADENCE) is None  # Saturday
    weekend_worker = Cadence(working_days=frozenset({5}))
    assert digest_day(local(16, 8), BERLIN, 8, weekend_worker) == date(2024, 3, 16)


def test_digest_in_two_zones_across_their_dst_changes() -> None:
    # New York springs forward on 10 March 2024, Berlin on 31 March: 08:00 local moves in UTC.
    assert digest_day(datetime(2024, 3, 8, 13, 0, tzinfo=UTC), NEW_YORK, 8, CADENCE) \
        == date(2024, 3, 8)  # EST: 08:00 is 13:00 UTC
    assert digest_day(datetime(2024, 3, 11, 13, 0, tzinfo=UTC), NEW_YORK, 8, CADENCE) \
        == date(2024, 3, 11)  # EDT: 09:00 local, inside the window
    assert digest_day(datetime(2024, 3, 11, 12, 0, tzinfo=UTC), NEW_YORK, 8, CADENCE) \
        == date(2024, 3, 11)  # EDT: 08:00 is 12:00 UTC
    assert digest_day(datetime(2024, 3, 11, 11, 59, tzinfo=UTC), NEW_YORK, 8, CADENCE) is None
    assert digest_day(datetime(2024, 3, 29, 7, 0, tzinfo=UTC), BERLIN, 8, CADENCE) \
        == date(2024, 3, 29)  # CET: 08:00 is 07:00 UTC
    assert digest_day(datetime(2024, 4, 1, 5, 59, tzinfo=UTC), BERLIN, 8, CADENCE) is None
    assert digest_day(datetime(2024, 4, 1, 6, 0, tzinfo=UTC), BERLIN, 8, CADENCE) \
        == date(2024, 4, 1)  # CEST: 08:00 is 06:00 UTC


def test_a_digest_hour_the_clocks_skip_goes_out_after_the_gap() -> None:
    # 02:00-03:00 does not exist in Berlin on Sunday 31 March; a six-day week asks for it.
    every_day = Cadence(working_days=frozenset(range(7)))
    assert digest_day(datetime(2024, 3, 31, 0, 59, tzinfo=UTC), BERLIN, 2, every_day) is None
    assert digest_day(datetime(2024, 3, 31, 1, 0, tzinfo=UTC), BERLIN, 2, every_day) \
        == date(2024, 3, 31)  # 03:00 CEST, the first moment after the gap

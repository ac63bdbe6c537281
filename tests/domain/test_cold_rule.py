"""When a deal goes cold, with a fixed clock: two working days after a follow-up passed with
no word on it (weekends skipped in the user's zone), or the cadence's gap with nothing
planned; never with a touch planned ahead, never once closed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from calsync.domain.cadence import Cadence
from calsync.domain.cold import cold_since, working_days_after
from calsync.domain.vocabulary import DealStatus

BERLIN = ZoneInfo("Europe/Berlin")
CADENCE = Cadence()  # gaps 2, 3, 5, 7...; Monday to Friday
THU = datetime(2026, 12, 3, 10, 0, tzinfo=BERLIN)  # Thursday 3 Dec, 10:00


def cold(now: datetime, *, ends: tuple[datetime, ...] = (), touches: int = 1,
         last: datetime | None = None, status: DealStatus = DealStatus.OPEN) -> datetime | None:
    return cold_since(status, ends, touches, last, CADENCE, BERLIN, now)


def test_two_working_days_skip_the_weekend() -> None:
    assert working_days_after(THU, 2, CADENCE.working_days, BERLIN) == datetime(
        2026, 12, 7, 10, 0, tzinfo=BERLIN)  # Monday, not Saturday
    saturday = datetime(2026, 12, 5, 18, 0, tzinfo=BERLIN)
    assert working_days_after(saturday, 2, CADENCE.working_days, BERLIN).date().isoformat() \
        == "2026-12-08"  # Monday, Tuesday


def test_working_days_keep_the_wall_time_across_dst() -> None:
    friday = datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN)  # clocks go forward on Sunday 29th
    later = working_days_after(friday, 2, CADENCE.working_days, BERLIN)
    assert (later.date().isoformat(), later.hour) == ("2026-03-31", 9)
    assert later.utcoffset() == timedelta(hours=2)


def test_a_passed_follow_up_goes_cold_two_working_days_later() -> None:
    monday = datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)
    assert cold(monday - timedelta(minutes=1), ends=(THU,)) is None  # not yet
    assert cold(monday, ends=(THU,)) == monday
    assert cold(monday + timedelta(days=3), ends=(THU,)) == monday  # since stays put


def test_a_touch_planned_ahead_keeps_it_warm() -> None:
    now = THU + timedelta(days=10)
    assert cold(now, ends=(THU, now + timedelta(hours=1))) is None
    assert cold(now, ends=(), last=THU - timedelta(days=60),
                status=DealStatus.WON) is None  # closed deals never go cold
    assert cold(now, ends=(THU,), status=DealStatus.LOST) is None


def test_nothing_planned_goes_cold_after_the_cadence_gap() -> None:
    # Three touches: the gap after the third is 5 days.
    assert cold(THU + timedelta(days=5) - timedelta(seconds=1), touches=3, last=THU) is None
    assert cold(THU + timedelta(days=6), touches=3, last=THU) == THU + timedelta(days=5)
    assert cold(THU + timedelta(days=90), touches=0, last=None) is None  # never touched


def test_a_gap_ending_on_a_weekend_goes_cold_on_monday() -> None:
    # One touch on Thursday: the gap of 2 days ends on Saturday, so cold from Monday 10:00.
    monday = datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)
    assert cold(monday - timedelta(minutes=1), touches=1, last=THU) is None
    assert cold(monday, touches=1, last=THU) == monday

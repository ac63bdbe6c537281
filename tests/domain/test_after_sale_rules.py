"""After a yes and after a no: when the after-sale touches and a revisit come; and the
warning before a deal's third touch within a week."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calsync.domain.cadence import (
    AFTER_SALE,
    Cadence,
    CadenceError,
    after_sale_times,
    crowding_warning,
    touch_after,
)
from calsync.domain.vocabulary import FollowUpKind

BERLIN = ZoneInfo("Europe/Berlin")
YES = datetime(2025, 3, 3, 15, tzinfo=BERLIN)  # a Monday afternoon


def test_after_sale_touches_come_at_the_usual_time_on_a_working_day() -> None:
    times = dict(after_sale_times(Cadence(), AFTER_SALE, YES, BERLIN))
    # 30 days after Monday 3 March is Wednesday 2 April (after the spring DST change).
    assert times[FollowUpKind.CHECK_IN] == datetime(2025, 4, 2, 10, tzinfo=BERLIN)
    # The referral ask is "with the check-in": right after it, not on top of it.
    assert times[FollowUpKind.REFERRAL] == datetime(2025, 4, 2, 10, 30, tzinfo=BERLIN)
    # 90 days is Sunday 1 June: the next working day.
    assert times[FollowUpKind.UPSELL] == datetime(2025, 6, 2, 10, tzinfo=BERLIN)


def test_only_the_touches_asked_for_and_in_order() -> None:
    kinds = [kind for kind, _ in after_sale_times(
        Cadence(), {FollowUpKind.UPSELL, FollowUpKind.CHECK_IN}, YES, BERLIN)]
    assert kinds == [FollowUpKind.CHECK_IN, FollowUpKind.UPSELL]
    assert after_sale_times(Cadence(), set(), YES, BERLIN) == []


def test_a_revisit_is_three_months_on() -> None:
    assert touch_after(Cadence(), YES, Cadence().revisit_days, BERLIN) == datetime(
        2025, 6, 2, 10, tzinfo=BERLIN)


def test_after_sale_settings_are_read_and_checked() -> None:
    cadence = Cadence.from_mapping({"after_sale": ["check_in", "upsell"], "upsell_days": 60})
    assert cadence.after_sale == {FollowUpKind.CHECK_IN, FollowUpKind.UPSELL}
    assert Cadence.from_mapping(cadence.to_mapping()) == cadence
    with pytest.raises(CadenceError, match="after_sale"):
        Cadence.from_mapping({"after_sale": ["revisit"]})
    with pytest.raises(CadenceError, match="check_in_days"):
        replace(cadence, check_in_days=0)


def test_the_third_touch_within_seven_days_is_warned() -> None:
    first, second = YES, YES + timedelta(days=2)
    assert crowding_warning([first], second) is None
    warning = crowding_warning([first, second], YES + timedelta(days=6, hours=23))
    assert warning is not None and "third touch within 7 days" in warning
    # Seven days after the first touch it is a new week: no warning.
    assert crowding_warning([first, second], YES + timedelta(days=7)) is None
    # Touches after the planned one count too.
    assert crowding_warning([YES + timedelta(days=3), YES + timedelta(days=5)],
                            YES) is not None

"""The cadence: gaps, working days, time zones and DST, never-in-the-past, closing, settings."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calsync.domain.cadence import (
    Cadence,
    CadenceError,
    Suggestion,
    spacing_warning,
    suggest_next,
    touch_label,
)

BERLIN = ZoneInfo("Europe/Berlin")
LA = ZoneInfo("America/Los_Angeles")
KOLKATA = ZoneInfo("Asia/Kolkata")
DEFAULT = Cadence()
EVERY_DAY = replace(DEFAULT, working_days=frozenset(range(7)))
CADENCE_TOML = Path(__file__).resolve().parents[2] / "config" / "cadence.toml"


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def suggest(
    last: datetime,
    touches: int = 1,
    tz: ZoneInfo = BERLIN,
    now: datetime | None = None,
    channel: str | None = None,
    cadence: Cadence = DEFAULT,
) -> Suggestion:
    return suggest_next(cadence, touches, last, channel, tz, now or last + timedelta(hours=1))


# --- gaps and working days --------------------------------------------------------------


def test_the_first_follow_up_is_two_days_later_at_ten() -> None:
    s = suggest(local(BERLIN, 2024, 5, 14, 15, 0))  # a Tuesday
    assert s.start == local(BERLIN, 2024, 5, 16, 10, 0)
    assert (s.touch_number, s.channel, s.duration_minutes) == (2, "email", 30)
    assert not s.suggest_close


def test_the_gap_grows_with_each_touch_and_the_last_repeats() -> None:
    last = local(BERLIN, 2024, 5, 14, 15, 0)
    expected = [2, 3, 5, 7, 10, 14, 21, 21, 21]
    for touches, gap in enumerate(expected, start=1):
        s = suggest(last, touches, cadence=EVERY_DAY)
        assert s.start.date() == (last + timedelta(days=gap)).date(), touches
        assert DEFAULT.gap_after(touches) == gap


def test_friday_plus_two_days_moves_to_monday() -> None:
    s = suggest(local(BERLIN, 2024, 5, 17, 16, 0))  # Friday -> Sunday -> Monday
    assert s.start == local(BERLIN, 2024, 5, 20, 10, 0)


def test_thursday_plus_two_days_moves_to_monday() -> None:
    s = suggest(local(BERLIN, 2024, 5, 16, 9, 0))
    assert s.start == local(BERLIN, 2024, 5, 20, 10, 0)


def test_weekend_days_count_when_they_are_working_days() -> None:
    six_days = replace(DEFAULT, working_days=frozenset({0, 1, 2, 3, 4, 5}))
    s = suggest(local(BERLIN, 2024, 5, 16, 9, 0), cadence=six_days)
    assert s.start == local(BERLIN, 2024, 5, 18, 10, 0)  # Saturday


def test_usual_time_is_configurable() -> None:
    cadence = replace(DEFAULT, usual_hour=8, usual_minute=45, default_duration_minutes=15)
    s = suggest(local(BERLIN, 2024, 5, 14, 15, 0), cadence=cadence)
    assert s.start == local(BERLIN, 2024, 5, 16, 8, 45)
    assert s.duration_minutes == 15


# --- time zones -------------------------------------------------------------------------


def test_the_day_counts_from_the_last_touchs_local_date() -> None:
    last = datetime(2024, 5, 14, 23, 30, tzinfo=UTC)  # Wed 05:00 in Kolkata, Tue 16:30 in LA
    assert suggest(last, tz=KOLKATA).start == local(KOLKATA, 2024, 5, 17, 10, 0)
    assert suggest(last, tz=LA).start == local(LA, 2024, 5, 16, 10, 0)
    assert suggest(last, tz=BERLIN).start == local(BERLIN, 2024, 5, 17, 10, 0)


def test_the_start_is_in_the_users_zone() -> None:
    s = suggest(datetime(2024, 5, 14, 9, 0, tzinfo=UTC), tz=KOLKATA)
    assert s.start.tzinfo is KOLKATA
    assert s.start.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("tz", "last", "touches", "expected_utc"),
    [
        # US spring forward, Sunday 10 March 2024: Friday + 2 -> Monday, 10:00 PDT.
        (LA, (2024, 3, 8, 10, 0), 1, datetime(2024, 3, 11, 17, 0, tzinfo=UTC)),
        # EU spring forward, Sunday 31 March 2024: Thursday + 5 -> Tuesday, 10:00 CEST.
        (BERLIN, (2024, 3, 28, 10, 0), 3, datetime(2024, 4, 2, 8, 0, tzinfo=UTC)),
        # US fall back, Sunday 3 November 2024: Thursday + 2 -> Monday, 10:00 PST.
        (LA, (2024, 10, 31, 10, 0), 1, datetime(2024, 11, 4, 18, 0, tzinfo=UTC)),
        # EU fall back, Sunday 27 October 2024: Friday + 2 -> Monday, 10:00 CET.
        (BERLIN, (2024, 10, 25, 10, 0), 1, datetime(2024, 10, 28, 9, 0, tzinfo=UTC)),
        # Kolkata has no DST; the same week stays at +05:30.
        (KOLKATA, (2024, 3, 8, 10, 0), 1, datetime(2024, 3, 11, 4, 30, tzinfo=UTC)),
    ],
)
def test_ten_oclock_stays_ten_oclock_across_dst(
    tz: ZoneInfo, last: tuple[int, ...], touches: int, expected_utc: datetime
) -> None:
    s = suggest(local(tz, *last), touches, tz=tz)
    assert s.start == expected_utc
    assert (s.start.hour, s.start.minute) == (10, 0)


def test_a_time_the_clocks_skip_moves_forward() -> None:
    cadence = replace(EVERY_DAY, usual_hour=2, usual_minute=30)
    s = suggest(local(LA, 2024, 3, 8, 10, 0), cadence=cadence, tz=LA)  # -> Sun 10 March 02:30
    assert (s.start.date().day, s.start.hour, s.start.minute) == (10, 3, 30)
    assert s.start.utcoffset() == timedelta(hours=-7)
    assert s.start == s.start.astimezone(UTC).astimezone(LA)


def test_a_time_the_clocks_repeat_takes_the_first() -> None:
    cadence = replace(EVERY_DAY, usual_hour=1, usual_minute=30)
    s = suggest(local(LA, 2024, 11, 1, 10, 0), cadence=cadence, tz=LA)  # -> Sun 3 Nov 01:30
    assert (s.start.hour, s.start.minute) == (1, 30)
    # Compared in UTC: PEP 495 makes an ambiguous time unequal to every other zone's.
    assert s.start.astimezone(UTC) == datetime(2024, 11, 3, 8, 30, tzinfo=UTC)  # still PDT
    assert s.start.utcoffset() == timedelta(hours=-7)


def test_every_day_of_the_dst_weeks_lands_at_the_usual_local_time_property() -> None:
    for tz in (LA, BERLIN, KOLKATA):
        for start_day in (datetime(2024, 3, 4), datetime(2024, 10, 21)):
            for offset_hours in range(0, 24 * 21, 7):
                last = (start_day + timedelta(hours=offset_hours)).replace(tzinfo=tz)
                for touches in (1, 2, 3):
                    s = suggest(last, touches, tz=tz)
                    assert (s.start.hour, s.start.minute) == (10, 0)
                    assert s.start.weekday() < 5
                    gap = DEFAULT.gap_after(touches)
                    days = (s.start.date() - last.date()).days
                    assert gap <= days <= gap + 2, (tz, last, touches)


# --- never in the past ------------------------------------------------------------------


LONG_AGO = local(BERLIN, 2024, 5, 1, 15, 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ((2024, 5, 22, 9, 0), (2024, 5, 22, 10, 0)),  # Wednesday before ten: today
        ((2024, 5, 22, 10, 0), (2024, 5, 22, 10, 0)),  # exactly ten: now is not the past
        ((2024, 5, 22, 10, 1), (2024, 5, 23, 10, 0)),  # after ten: tomorrow
        ((2024, 5, 24, 11, 0), (2024, 5, 27, 10, 0)),  # Friday afternoon: Monday
        ((2024, 5, 25, 8, 0), (2024, 5, 27, 10, 0)),  # Saturday morning: Monday
    ],
)
def test_a_late_answer_gets_the_next_usual_slot(
    now: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    s = suggest(LONG_AGO, now=local(BERLIN, *now))
    assert s.start == local(BERLIN, *expected)


def test_now_in_another_zone_is_the_same_instant() -> None:
    now = local(BERLIN, 2024, 5, 22, 9, 0).astimezone(KOLKATA)
    assert suggest(LONG_AGO, now=now).start == local(BERLIN, 2024, 5, 22, 10, 0)


def test_never_in_the_past_property() -> None:
    for tz in (LA, BERLIN, KOLKATA):
        last = local(tz, 2024, 3, 1, 12, 0)
        for hours in range(0, 24 * 60, 5):
            now = last + timedelta(hours=hours)
            for touches in (1, 4, 9):
                s = suggest(last, touches, tz=tz, now=now)
                assert s.start >= now
                assert s.start.weekday() in DEFAULT.working_days
                assert (s.start.hour, s.start.minute) == (10, 0)
                assert s.start - now < timedelta(days=25)


# --- channel, closing, messages ---------------------------------------------------------


def test_the_promised_channel_is_kept() -> None:
    assert suggest(LONG_AGO, channel="visit").channel == "visit"
    assert suggest(LONG_AGO, channel=None).channel == "email"
    assert suggest(LONG_AGO, channel="").channel == "email"
    call_first = replace(DEFAULT, default_channel="call")
    assert suggest(LONG_AGO, cadence=call_first).channel == "call"


def test_the_message_names_the_touch_channel_and_day() -> None:
    s = suggest(local(BERLIN, 2024, 5, 14, 15, 0), touches=2, channel="call")
    assert s.message == (
        "Touch 3 of a usual 5-7: follow up with a call in 3 days (Friday 17 May, 10:00)."
    )


def test_the_message_says_today_and_tomorrow() -> None:
    today = suggest(LONG_AGO, now=local(BERLIN, 2024, 5, 22, 9, 0))
    tomorrow = suggest(LONG_AGO, now=local(BERLIN, 2024, 5, 22, 11, 0), channel="other")
    assert "by email today (Wednesday 22 May, 10:00)" in today.message
    assert "follow up tomorrow (Thursday 23 May, 10:00)" in tomorrow.message


def test_suggest_close_after_seven_touches() -> None:
    last = local(BERLIN, 2024, 5, 14, 15, 0)
    assert not suggest(last, touches=6).suggest_close
    s = suggest(last, touches=7)
    assert s.suggest_close and s.touch_number == 8
    assert s.message.startswith("That was touch 7 without a definite answer (a usual 5-7)")
    assert "clear yes or no, or close the deal" in s.message
    assert suggest(last, touches=12).suggest_close


def test_suggest_close_after_is_configurable() -> None:
    cadence = replace(DEFAULT, usual_touches=(3, 4), suggest_close_after=4)
    assert suggest(LONG_AGO, touches=4, cadence=cadence).suggest_close


def test_touch_label() -> None:
    assert touch_label(DEFAULT, 3) == "touch 3 of a usual 5-7"
    assert touch_label(replace(DEFAULT, usual_touches=(5, 5)), 9) == "touch 9 of a usual 5"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="touches"):
        suggest(LONG_AGO, touches=0)
    with pytest.raises(ValueError, match="last_touch_at"):
        suggest(datetime(2024, 5, 1, 15, 0), now=local(BERLIN, 2024, 5, 2, 9, 0))
    with pytest.raises(ValueError, match="now"):
        suggest_next(DEFAULT, 1, LONG_AGO, None, BERLIN, datetime(2024, 5, 2))


# --- spacing warning --------------------------------------------------------------------


LAST = local(BERLIN, 2024, 5, 14, 15, 0)


@pytest.mark.parametrize(
    ("proposed", "phrase"),
    [
        (local(BERLIN, 2024, 5, 14, 17, 0), "on the same day as the last touch"),
        (local(BERLIN, 2024, 5, 15, 9, 0), "only 1 day after the last touch"),
        (local(BERLIN, 2024, 5, 13, 9, 0), "before the last touch"),
    ],
)
def test_a_follow_up_too_close_gets_a_warning(proposed: datetime, phrase: str) -> None:
    warning = spacing_warning(DEFAULT, LAST, proposed)
    assert warning is not None
    assert phrase in warning and "at least 2 days" in warning and "pestering" in warning


def test_two_calendar_days_later_is_fine_whatever_the_hour() -> None:
    assert spacing_warning(DEFAULT, LAST, local(BERLIN, 2024, 5, 16, 8, 0)) is None


def test_days_count_in_the_proposed_starts_zone() -> None:
    last = datetime(2024, 5, 14, 22, 30, tzinfo=UTC)  # already the 15th in Berlin
    assert spacing_warning(DEFAULT, last, local(BERLIN, 2024, 5, 16, 10, 0)) is not None
    assert spacing_warning(DEFAULT, last, local(LA, 2024, 5, 16, 10, 0)) is None


def test_a_zero_minimum_only_warns_about_going_back() -> None:
    relaxed = replace(DEFAULT, min_gap_days=0)
    assert spacing_warning(relaxed, LAST, LAST) is None
    assert spacing_warning(relaxed, LAST, LAST - timedelta(days=1)) is not None


def test_the_cadence_never_warns_about_its_own_suggestions_property() -> None:
    for tz in (LA, BERLIN, KOLKATA):
        for hours in range(0, 24 * 14, 5):
            last = local(tz, 2024, 3, 4, 0, 0) + timedelta(hours=hours)
            for touches in range(1, 9):
                s = suggest(last, touches, tz=tz)
                assert spacing_warning(DEFAULT, last, s.start) is None


# --- settings ---------------------------------------------------------------------------


def test_the_shipped_file_is_the_default_cadence() -> None:
    with CADENCE_TOML.open("rb") as f:
        assert Cadence.from_mapping(tomllib.load(f)) == Cadence()


def test_to_mapping_round_trips() -> None:
    custom = Cadence(
        gaps_days=(1, 1, 4),
        usual_touches=(3, 4),
        suggest_close_after=5,
        min_gap_days=1,
        usual_hour=8,
        usual_minute=15,
        working_days=frozenset({0, 2, 6}),
        default_channel="call",
        default_duration_minutes=20,
    )
    for cadence in (DEFAULT, custom):
        assert Cadence.from_mapping(cadence.to_mapping()) == cadence
    assert custom.to_mapping()["working_days"] == ["mon", "wed", "sun"]


def test_an_empty_mapping_is_the_base() -> None:
    assert Cadence.from_mapping({}) == DEFAULT
    base = replace(DEFAULT, usual_hour=9)
    assert Cadence.from_mapping({}, base) == base


def test_overrides_layer_on_the_base() -> None:
    base = Cadence.from_mapping({"usual_hour": 9, "default_channel": "call"})
    user = Cadence.from_mapping({"usual_minute": 30, "default_channel": "Visit"}, base)
    assert (user.usual_hour, user.usual_minute, user.default_channel) == (9, 30, "visit")
    assert user.gaps_days == DEFAULT.gaps_days


def test_weekdays_may_be_named_or_numbered() -> None:
    cadence = Cadence.from_mapping({"working_days": ["Monday", "TUE", 2, "thursday"]})
    assert cadence.working_days == frozenset({0, 1, 2, 3})


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"gap_days": [2]}, "gap_days"),
        ({"gaps_days": "2, 3"}, "gaps_days"),
        ({"gaps_days": []}, "gaps_days"),
        ({"gaps_days": [0, 3]}, "gaps_days"),
        ({"gaps_days": [2, 3.5]}, "gaps_days"),
        ({"gaps_days": [2, True]}, "gaps_days"),
        ({"gaps_days": [5, 3]}, "gaps_days"),
        ({"usual_touches": [7, 5]}, "usual_touches"),
        ({"usual_touches": [5]}, "usual_touches"),
        ({"usual_touches": 5}, "usual_touches"),
        ({"suggest_close_after": 3}, "suggest_close_after"),
        ({"suggest_close_after": "7"}, "suggest_close_after"),
        ({"suggest_close_after": True}, "suggest_close_after"),
        ({"min_gap_days": -1}, "min_gap_days"),
        ({"min_gap_days": 3}, "min_gap_days"),
        ({"usual_hour": 24}, "usual_hour"),
        ({"usual_minute": 60}, "usual_minute"),
        ({"usual_minute": 1.5}, "usual_minute"),
        ({"working_days": []}, "working_days"),
        ({"working_days": ["funday"]}, "working_days"),
        ({"working_days": [7]}, "working_days"),
        ({"working_days": "mon"}, "working_days"),
        ({"default_channel": "sms"}, "default_channel"),
        ({"default_channel": 3}, "default_channel"),
        ({"default_duration_minutes": 0}, "default_duration_minutes"),
        ({"default_duration_minutes": 24 * 60 + 1}, "default_duration_minutes"),
    ],
)
def test_a_bad_setting_names_its_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key) as caught:
        Cadence.from_mapping(data)
    assert isinstance(caught.value, CadenceError)
    assert caught.value.key == key
    assert "must be" in str(caught.value)


def test_an_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(CadenceError, match="gaps_days, usual_touches"):
        Cadence.from_mapping({"usual_time": "10:00"})


def test_a_clash_with_the_base_is_reported() -> None:
    base = Cadence(gaps_days=(1, 2, 4), min_gap_days=1)
    with pytest.raises(CadenceError, match=r"min_gap_days.*first of gaps_days \(1\)"):
        Cadence.from_mapping({"min_gap_days": 2}, base)
    with pytest.raises(CadenceError, match=r"suggest_close_after.*low of usual_touches \(6\)"):
        Cadence.from_mapping({"usual_touches": [6, 8]}, Cadence(suggest_close_after=5))


def test_data_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(CadenceError, match="table"):
        Cadence.from_mapping([("usual_hour", 9)])  # type: ignore[arg-type]


def test_the_constructor_validates_too() -> None:
    with pytest.raises(CadenceError, match="usual_hour"):
        Cadence(usual_hour=25)

"""The cadence: when the next touch of a deal should be, on which channel, and when to stop.

Spacing grows touch by touch, 5-7 touches is usual, the promised channel is kept (see seeds/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from calsync.domain.slots import Busy, WorkingHours, free_slot
from calsync.domain.vocabulary import Channel, DealStatus, FollowUpKind

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The touches after a yes, in the order they come: are they satisfied, whom else could it
# help (asked with the check-in), what more could they use.
AFTER_SALE: tuple[FollowUpKind, ...] = (FollowUpKind.CHECK_IN, FollowUpKind.REFERRAL,
                                        FollowUpKind.UPSELL)
# More touches than this within CROWDED_DAYS, with no definite answer, is pestering.
CROWDED_TOUCHES = 2
CROWDED_DAYS = 7
# A month's average length, for "in about 3 months".
DAYS_PER_MONTH = 30.44


class CadenceError(ValueError):
    """A cadence setting calsync cannot use; `key` names it, `expected` says what would do."""

    def __init__(self, key: str, expected: str, value: Any) -> None:
        self.message = f"{key!r} must be {expected}; got {value!r}"  # shown beside the field
        super().__init__(f"cadence setting {self.message}")
        self.key = key
        self.expected = expected


@dataclass(frozen=True)
class Cadence:
    # Gap in days after touch n is gaps_days[n-1], the last one repeating: early touches
    # keep the deal warm, later ones give space (calling weekly "by the third call" annoys).
    gaps_days: tuple[int, ...] = (2, 3, 5, 7, 10, 14, 21)
    usual_touches: tuple[int, int] = (5, 7)  # most sales close after the 5th touch
    suggest_close_after: int = 7  # then ask for a definite yes or no
    # Closer than this to the last touch is pestering; two days is the shortest gap above.
    min_gap_days: int = 2
    usual_hour: int = 10
    usual_minute: int = 0
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday=0
    default_channel: Channel = Channel.EMAIL
    default_duration_minutes: int = 30
    # Work on a promise this many working days before the deadline given to the client:
    # "under-promise, over-deliver" means they have it early.
    promise_margin_days: int = 1
    # Follow through this many working days after delivering: did they get it, anything new.
    follow_through_days: int = 2
    # After a yes: the touches ticked already, and when they come. None by default: the
    # yes's confirmation offers each one not planned with one click, so nothing lands on
    # the calendar unasked.
    after_sale: frozenset[FollowUpKind] = frozenset()
    check_in_days: int = 30
    referral_days: int = 30  # with the check-in: a happy client is the one to ask
    upsell_days: int = 90
    # After a no for bad timing: ask again when the time may be right.
    revisit_days: int = 91

    def __post_init__(self) -> None:
        _validate(self)

    def gap_after(self, touch_number: int) -> int:
        """Days between touch `touch_number` and the next one."""
        return self.gaps_days[min(max(touch_number, 1), len(self.gaps_days)) - 1]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], base: Cadence | None = None) -> Cadence:
        """A cadence from TOML-shaped data, layered on `base` (the defaults when None)."""
        if not isinstance(data, Mapping):
            raise CadenceError("cadence", "a table of cadence settings", data)
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                raise CadenceError(str(key), f"one of the known keys: {', '.join(known)}", key)
        changes = {key: _CONVERTERS[key](key, value) for key, value in data.items()}
        return replace(base if base is not None else cls(), **changes)

    def to_mapping(self) -> dict[str, Any]:
        """The TOML-shaped form `from_mapping` reads back to an equal cadence."""
        return {
            "gaps_days": list(self.gaps_days),
            "usual_touches": list(self.usual_touches),
            "suggest_close_after": self.suggest_close_after,
            "min_gap_days": self.min_gap_days,
            "usual_hour": self.usual_hour,
            "usual_minute": self.usual_minute,
            "working_days": [DAY_NAMES[day] for day in sorted(self.working_days)],
            "default_channel": self.default_channel,
            "default_duration_minutes": self.default_duration_minutes,
            "promise_margin_days": self.promise_margin_days,
            "follow_through_days": self.follow_through_days,
            "after_sale": [kind.value for kind in AFTER_SALE if kind in self.after_sale],
            "check_in_days": self.check_in_days,
            "referral_days": self.referral_days,
            "upsell_days": self.upsell_days,
            "revisit_days": self.revisit_days,
        }

    def after_sale_days(self, kind: FollowUpKind) -> int:
        """Days after a yes when the after-sale touch `kind` comes."""
        return {FollowUpKind.CHECK_IN: self.check_in_days,
                FollowUpKind.REFERRAL: self.referral_days,
                FollowUpKind.UPSELL: self.upsell_days}[kind]


@dataclass(frozen=True)
class Suggestion:
    start: datetime  # aware, in the user's zone
    duration_minutes: int
    channel: Channel
    touch_number: int  # the number the suggested touch would have (touches + 1)
    suggest_close: bool  # after suggest_close_after touches without a definite answer
    message: str  # a sentence for the prompt


def suggest_next(
    cadence: Cadence,
    touches: int,
    last_touch_at: datetime,
    last_channel: str | None,
    tz: ZoneInfo,
    now: datetime,
    busy: Sequence[Busy] = (),
    *,
    after_sale: bool = False,
) -> Suggestion:
    """The next touch after `touches` answered ones, the last at `last_touch_at`, in the
    first free slot from the cadence's day and usual time on (`busy`: the user's meetings
    and planned follow-ups around then). `after_sale`: the touch is of a won deal, so the
    sale's touches are not counted and closing is not suggested."""
    if touches < 1:
        raise ValueError(f"touches counts answered touches and must be at least 1, not {touches}")
    _require_aware(last_touch_at=last_touch_at, now=now)
    day = last_touch_at.astimezone(tz).date() + timedelta(days=cadence.gap_after(touches))
    start = _at_usual_time(cadence, _working_day_from(cadence, day), tz)
    if start < now:
        # Answered late: the cadence's day has passed, so the soonest usual slot instead.
        start = _next_slot_after(cadence, now, tz)
    start = free_slot(start, timedelta(minutes=cadence.default_duration_minutes), list(busy),
                      WorkingHours(days=cadence.working_days), tz)
    # Keep the channel that was promised.
    channel = Channel(last_channel or cadence.default_channel)
    touch_number = touches + 1
    suggest_close = touches >= cadence.suggest_close_after and not after_sale
    when = _when(start, now.astimezone(tz))
    action = " ".join(part for part in ("follow up", channel.phrase, when) if part)
    if after_sale:
        message = f"The deal is won; if there is more to do, {action}."
    elif suggest_close:
        message = (
            f"That was touch {touches} without a definite answer ({_usual(cadence)}): "
            f"{action} and ask for a clear yes or no, or close the deal."
        )
    else:
        message = f"{touch_label(cadence, touch_number).capitalize()}: {action}."
    return Suggestion(
        start=start,
        duration_minutes=cadence.default_duration_minutes,
        channel=channel,
        touch_number=touch_number,
        suggest_close=suggest_close,
        message=message,
    )


def touch_after(cadence: Cadence, touch_at: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The usual time on the first working day `days` days after `touch_at` (an after-sale
    touch, a revisit): a day's count, not working days, as "in 30 days" is meant."""
    _require_aware(touch_at=touch_at)
    day = _working_day_from(cadence, touch_at.astimezone(tz).date() + timedelta(days=days))
    return _at_usual_time(cadence, day, tz)


def after_sale_times(cadence: Cadence, kinds: Iterable[FollowUpKind], touch_at: datetime,
                     tz: ZoneInfo) -> list[tuple[FollowUpKind, datetime]]:
    """When each after-sale touch in `kinds` comes after a yes at `touch_at`, in AFTER_SALE
    order; one due at the same time as an earlier one follows it (the referral ask right
    after the check-in)."""
    wanted = set(kinds)
    planned: list[tuple[FollowUpKind, datetime]] = []
    length = timedelta(minutes=cadence.default_duration_minutes)
    for kind in AFTER_SALE:
        if kind not in wanted:
            continue
        start = touch_after(cadence, touch_at, cadence.after_sale_days(kind), tz)
        while any(start == earlier for _kind, earlier in planned):
            start += length
        planned.append((kind, start))
    return planned


def keeps_planned(status: DealStatus, kind: FollowUpKind) -> bool:
    """Whether a deal with `status` keeps a planned follow-up of `kind`: a closed deal drops
    its plans to sell, a won one keeps its after-sale touches and a lost one its revisit."""
    if kind in AFTER_SALE:
        return status is DealStatus.WON
    if kind is FollowUpKind.REVISIT:
        return status is DealStatus.LOST
    return not status.closed


def crowding_warning(touches: Iterable[datetime], proposed_start: datetime) -> str | None:
    """A sentence when `proposed_start` would be the third touch of a deal within
    CROWDED_DAYS days (`touches`: its other touches, answered or planned, none with a
    definite answer)."""
    _require_aware(proposed_start=proposed_start)
    window = timedelta(days=CROWDED_DAYS)
    near = [t for t in touches if abs(t - proposed_start) < window]
    # Any CROWDED_DAYS-long span holding the new touch and two others.
    for first in sorted([*near, proposed_start]):
        span = [t for t in [*near, proposed_start] if first <= t < first + window]
        if proposed_start in span and len(span) > CROWDED_TOUCHES:
            return (f"That would be the third touch within {CROWDED_DAYS} days without an "
                    "answer from them. Give them space: plan it later, or bring something new.")
    return None


def spacing_warning(
    cadence: Cadence, last_touch_at: datetime, proposed_start: datetime
) -> str | None:
    """A sentence when `proposed_start` is fewer than min_gap_days after the last touch.

    Counted in calendar days in the proposed start's zone, so the cadence's own
    suggestion (10:00 two days after a 15:00 touch) is never flagged.
    """
    _require_aware(last_touch_at=last_touch_at, proposed_start=proposed_start)
    last_day = last_touch_at.astimezone(proposed_start.tzinfo).date()
    days = (proposed_start.date() - last_day).days
    if days >= cadence.min_gap_days:
        return None
    if days < 0:
        closeness = "before the last touch"
    elif days == 0:
        closeness = "on the same day as the last touch"
    else:
        closeness = f"only {_days(days)} after the last touch"
    return (
        f"That is {closeness}. Leave at least {_days(cadence.min_gap_days)} between touches "
        "so the follow-up brings something new instead of pestering."
    )


def touch_label(cadence: Cadence, touch_number: int) -> str:
    """ "touch 3 of a usual 5-7" """
    return f"touch {touch_number} of {_usual(cadence)}"


def _usual(cadence: Cadence) -> str:
    low, high = cadence.usual_touches
    return f"a usual {low}" if low == high else f"a usual {low}-{high}"


def in_days(days: int) -> str:
    """ "in 30 days", or "in about 3 months" from two months on when the days are close to
    whole months (91 days is what "3 months" means to a calendar)."""
    months = round(days / DAYS_PER_MONTH)
    if months >= 2 and abs(days - months * DAYS_PER_MONTH) <= 3:
        return f"in about {months} months"
    return f"in {days} days"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _when(start: datetime, local_now: datetime) -> str:
    days = (start.date() - local_now.date()).days
    relative = {0: "today", 1: "tomorrow"}.get(days, f"in {_days(days)}")
    return f"{relative} ({start:%A} {start.day} {start:%B}, {start:%H:%M})"


def _working_day_from(cadence: Cadence, day: date) -> date:
    """`day` itself when it is a working day, else the next one (Saturday -> Monday)."""
    while day.weekday() not in cadence.working_days:
        day += timedelta(days=1)
    return day


def _at_usual_time(cadence: Cadence, day: date, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(cadence.usual_hour, cadence.usual_minute), tzinfo=tz)
    # A round trip through UTC resolves wall times the clocks skip (02:30 on spring-forward
    # day becomes 03:30); for repeated fall-back times fold=0 keeps the first one.
    return local.astimezone(UTC).astimezone(tz)


def next_usual_slot(cadence: Cadence, after: datetime, tz: ZoneInfo) -> datetime:
    """The first usual-time slot on a working day at or after `after`."""
    _require_aware(after=after)
    return _next_slot_after(cadence, after, tz)


def _next_slot_after(cadence: Cadence, now: datetime, tz: ZoneInfo) -> datetime:
    """The first usual-time slot on a working day that is still ahead of `now`."""
    day = now.astimezone(tz).date()
    while True:
        day = _working_day_from(cadence, day)
        slot = _at_usual_time(cadence, day, tz)
        if slot >= now:
            return slot
        day += timedelta(days=1)


def _require_aware(**moments: datetime) -> None:
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


# --- reading and checking settings ----------------------------------------------------


def _whole(key: str, value: Any) -> int:
    if not _is_whole(value):
        raise CadenceError(key, "a whole number", value)
    return int(value)


def _whole_list(key: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise CadenceError(key, "a list of whole numbers", value)
    items = tuple(value)
    if not all(_is_whole(v) for v in items):
        raise CadenceError(key, "a list of whole numbers", value)
    return items


def _day(key: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().lower()[:3] in DAY_NAMES:
        return DAY_NAMES.index(value.strip().lower()[:3])
    if _is_whole(value) and 0 <= value <= 6:
        return int(value)
    raise CadenceError(key, 'a list of weekdays like "mon" (or 0-6, Monday=0)', value)


def _days_list(key: str, value: Any) -> frozenset[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise CadenceError(key, 'a list of weekdays like ["mon", "tue"]', value)
    return frozenset(_day(key, v) for v in value)


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise CadenceError(key, "text", value)
    return value.strip().lower()


def _after_sale(key: str, value: Any) -> frozenset[FollowUpKind]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise CadenceError(key, 'a list of "check_in", "referral", "upsell"', value)
    kinds = {_text(key, v) for v in value}
    names = {kind.value for kind in AFTER_SALE}
    if not kinds <= names:
        raise CadenceError(key, 'a list of "check_in", "referral", "upsell"', value)
    return frozenset(FollowUpKind(kind) for kind in kinds)


def _channel(key: str, value: Any) -> Channel:
    text = _text(key, value)
    if text not in set(Channel):
        raise CadenceError(key, f"one of {', '.join(Channel)}", text)
    return Channel(text)


# Each setting's reader: checks the TOML value's type and gives the field's.
_CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "gaps_days": _whole_list,
    "usual_touches": _whole_list,
    "suggest_close_after": _whole,
    "min_gap_days": _whole,
    "usual_hour": _whole,
    "usual_minute": _whole,
    "working_days": _days_list,
    "default_channel": _channel,
    "default_duration_minutes": _whole,
    "promise_margin_days": _whole,
    "follow_through_days": _whole,
    "after_sale": _after_sale,
    "check_in_days": _whole,
    "referral_days": _whole,
    "upsell_days": _whole,
    "revisit_days": _whole,
}


def _validate(c: Cadence) -> None:
    """Checks every field, so no code path can hold a cadence that suggests nonsense."""
    gaps = c.gaps_days
    if not gaps or not all(_is_whole(g) and 1 <= g <= 365 for g in gaps):
        raise CadenceError("gaps_days", "a non-empty list of days from 1 to 365", gaps)
    if any(later < earlier for earlier, later in pairwise(gaps)):
        raise CadenceError("gaps_days", "gaps that grow or stay equal, never shrink", gaps)
    low, high = c.usual_touches if len(c.usual_touches) == 2 else (0, 0)
    if not (_is_whole(low) and _is_whole(high) and 1 <= low <= high <= 50):
        expected = "two numbers [low, high] with 1 <= low <= high <= 50"
        raise CadenceError("usual_touches", expected, c.usual_touches)
    # Closing before the usual touches gives up on deals that were still coming.
    _in_range("suggest_close_after", c.suggest_close_after, low, 100, "the low of usual_touches")
    # Any higher and the cadence would warn about its own suggestions.
    _in_range("min_gap_days", c.min_gap_days, 0, gaps[0], "", "the first of gaps_days")
    _in_range("usual_hour", c.usual_hour, 0, 23)
    _in_range("usual_minute", c.usual_minute, 0, 59)
    _in_range("default_duration_minutes", c.default_duration_minutes, 1, 1440)
    _in_range("promise_margin_days", c.promise_margin_days, 0, 30)
    _in_range("follow_through_days", c.follow_through_days, 1, 30)
    for key in ("check_in_days", "referral_days", "upsell_days", "revisit_days"):
        _in_range(key, getattr(c, key), 1, 730)
    if not c.after_sale <= frozenset(AFTER_SALE):
        raise CadenceError("after_sale", 'a list of "check_in", "referral", "upsell"',
                           c.after_sale)
    if not c.working_days or not c.working_days <= frozenset(range(7)):
        expected = "at least one weekday (Monday=0 to Sunday=6)"
        raise CadenceError("working_days", expected, c.working_days)
    _channel("default_channel", c.default_channel)


def _is_whole(value: Any) -> bool:
    # bool is an int in Python, but `true` in TOML is never meant as a number.
    return isinstance(value, int) and not isinstance(value, bool)


def _in_range(
    key: str, value: Any, low: int, high: int, low_is: str = "", high_is: str = ""
) -> None:
    if not (_is_whole(value) and low <= value <= high):
        low_text = f"{low_is} ({low})" if low_is else str(low)
        high_text = f"{high_is} ({high})" if high_is else str(high)
        raise CadenceError(key, f"a whole number from {low_text} to {high_text}", value)

"""Promises to the client: when to work on one, how it was kept, and what comes after.

"Under-promise, over-deliver": the working follow-up is planned a margin of working days
ahead of the deadline given to the client, delivering counts as early, on time or late
against that deadline, and a follow-through touch comes a few working days later (see
seeds/). Working days are counted in the user's zone at the same wall-clock time, so a
margin across a DST change keeps "16:00" rather than shifting an hour.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calsync.domain.vocabulary import FollowUpKind, PromiseTiming

# The four steps of following through, listed in the follow-through touch's description.
FOLLOW_THROUGH_STEPS: tuple[str, ...] = (
    "Make sure they got it.",
    "Offer to clarify anything in it.",
    "Share something new since you talked.",
    "Book the next meeting.",
)


def shift_working_days(moment: datetime, days: int, working_days: Collection[int],
                       tz: ZoneInfo) -> datetime:
    """`moment` moved by `days` working days (negative: back) at the same local time in
    `tz`; each step lands on a working day (Monday=0), so Monday 16:00 less one working day
    is Friday 16:00. Zero days from a non-working day still moves to a working day (back
    for a deadline, so nothing is planned after it)."""
    _require_aware(moment)
    if not working_days:
        raise ValueError("working_days must name at least one weekday")
    local = moment.astimezone(tz)
    step = -1 if days <= 0 else 1
    day = local.date()
    remaining = abs(days)
    while remaining > 0 or day.weekday() not in working_days:
        day += timedelta(days=step)
        if day.weekday() in working_days:
            remaining = max(remaining - 1, 0)
    wall = datetime.combine(day, local.time().replace(fold=0), tzinfo=tz)
    # A round trip through UTC resolves wall times the clocks skip (02:30 on spring-forward
    # day becomes 03:30).
    return wall.astimezone(UTC).astimezone(tz)


def work_start(promise_due: datetime, margin_days: int, working_days: Collection[int],
               tz: ZoneInfo) -> datetime:
    """When to work on a promise: `margin_days` working days before its deadline."""
    return shift_working_days(promise_due, -margin_days, working_days, tz)


def catch_up_start(promise_due: datetime, length: timedelta, next_usual: datetime,
                   now: datetime) -> tuple[datetime, bool]:
    """When to work on a promise whose margin has already begun: the user's next usual slot
    (`next_usual`) if the work still ends by the deadline, else an hour from now, else five
    minutes from now (on a five-minute mark, as a person would plan it). The flag says
    whether the work ends by the deadline; when nothing does, an hour from now, too late."""
    _require_aware(now)
    hour = round_up(now + timedelta(hours=1))
    for start in (next_usual, hour, round_up(now + timedelta(minutes=5))):
        if start + length <= promise_due:
            return start, True
    return hour, False


def round_up(moment: datetime, step: timedelta = timedelta(minutes=5)) -> datetime:
    """`moment` moved up to the next whole `step` (10:02:29 gives 10:05:00)."""
    base = moment.replace(second=0, microsecond=0)
    minutes = int(step.total_seconds() // 60)
    extra = (-base.minute) % minutes
    if extra == 0 and base != moment:
        extra = minutes
    return base + timedelta(minutes=extra)


def follow_through_at(delivered_at: datetime, days: int, working_days: Collection[int],
                      tz: ZoneInfo, usual: time) -> datetime:
    """When to follow through: `days` working days after delivering, at the user's `usual`
    time (not the minute the Delivered button was pressed)."""
    day = shift_working_days(delivered_at, max(days, 1), working_days, tz).date()
    wall = datetime.combine(day, usual, tzinfo=tz)
    return wall.astimezone(UTC).astimezone(tz)  # a wall time the clocks skip becomes real


def promise_timing(delivered_at: datetime, promise_due: datetime, tz: ZoneInfo) -> PromiseTiming:
    """Late after the deadline; on time on its day (in `tz`) up to the deadline itself;
    early on any day before: over-delivering means the client has it a day ahead."""
    _require_aware(delivered_at)
    _require_aware(promise_due)
    if delivered_at > promise_due:
        return PromiseTiming.LATE
    if delivered_at.astimezone(tz).date() < promise_due.astimezone(tz).date():
        return PromiseTiming.EARLY
    return PromiseTiming.ON_TIME


@dataclass(frozen=True)
class PromisesKept:
    """How many promises were delivered early, on time and late."""

    early: int = 0
    on_time: int = 0
    late: int = 0

    @property
    def total(self) -> int:
        return self.early + self.on_time + self.late


def promises_kept(deliveries: Iterable[tuple[datetime, datetime]], tz: ZoneInfo,
                  since: datetime | None = None) -> PromisesKept:
    """Count `deliveries` ((delivered_at, promise_due) pairs) by how each promise was kept,
    those delivered at or after `since` only when it is given."""
    counts = dict.fromkeys(PromiseTiming, 0)
    for delivered_at, due in deliveries:
        if since is None or delivered_at >= since:
            counts[promise_timing(delivered_at, due, tz)] += 1
    return PromisesKept(early=counts[PromiseTiming.EARLY], on_time=counts[PromiseTiming.ON_TIME],
                        late=counts[PromiseTiming.LATE])


def promised_for(promise_due: datetime, tz: ZoneInfo) -> str:
    """"promised for Fri 5 Dec 16:00": the deadline as the client heard it, in `tz`."""
    local = promise_due.astimezone(tz)
    return f"promised for {local:%a} {local.day} {local:%b %H:%M}"


def event_lines(kind: FollowUpKind, promise_due: datetime | None, value_note: str,
                tz: ZoneInfo, delivered_at: datetime | None = None) -> list[str]:
    """What a follow-up's calendar event and feed entry say about its kind: the kind, the
    promised deadline (or, once delivered, when and how it was kept), the value it brings,
    and a follow-through's four steps."""
    lines = [f"Kind: {kind.label}"]
    if promise_due is not None and delivered_at is not None:
        local = delivered_at.astimezone(tz)
        kept = TIMING_WORDS[promise_timing(delivered_at, promise_due, tz)]
        lines.append(f"Delivered {kept}, {local:%a} {local.day} {local:%b %H:%M} "
                     f"({promised_for(promise_due, tz)}): nothing left to do here.")
    elif promise_due is not None:
        lines.append(f"P{promised_for(promise_due, tz)[1:]}.")
    if value_note.strip():
        lines.append(f"What you bring them: {value_note.strip()}")
    if kind is FollowUpKind.FOLLOW_THROUGH:
        lines.append("Follow through:")
        lines.extend(f"{n}. {text}" for n, text in enumerate(FOLLOW_THROUGH_STEPS, 1))
    return lines


# How a promise was kept, in words ("delivered on time").
TIMING_WORDS = {PromiseTiming.EARLY: "early", PromiseTiming.ON_TIME: "on time",
                PromiseTiming.LATE: "late"}


def event_prefix(kind: FollowUpKind, delivered: bool = False) -> str:
    """What comes before an event's title: "Promise · ", "Delivered · " once a promise is
    delivered (no longer work to do), nothing for a plain next touch."""
    if kind is FollowUpKind.PROMISE and delivered:
        return "Delivered · "
    return "" if kind is FollowUpKind.FOLLOW_UP else f"{kind.label} · "


def answer_ask(kind: FollowUpKind, delivered: bool = False) -> str:
    """The question before a follow-up's answer link: "Delivered?" for a promise still to
    deliver, "How did it go?" for any other."""
    return "Delivered?" if kind is FollowUpKind.PROMISE and not delivered else "How did it go?"


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware time is needed, got {moment!r}")

"""How times and people read on the pages: always in the signed-in user's zone.

Registered as template filters, so templates write `{{ meeting.start | when }}`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask_login import current_user

from calsync.domain import prompting
from calsync.web.pages import bp

if TYPE_CHECKING:
    from calsync.models import AttendeeRow

EN_DASH = "\u2013"


def user_zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_user.timezone)
    except (AttributeError, ValueError, KeyError):
        return ZoneInfo("UTC")


def local(moment: datetime, tz: ZoneInfo | None = None) -> datetime:
    return moment.astimezone(tz or user_zone())


def combine(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall time in `tz` as an aware datetime; a time the clocks skip moves forward."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _day(moment: datetime, today: date) -> str:
    text = f"{moment:%a} {moment.day} {moment:%b}"
    return text if moment.year == today.year else f"{text} {moment.year}"


@bp.app_template_filter("when")
def when(moment: datetime | None) -> str:
    """ "Tue 24 Nov, 14:00" in the user's zone."""
    if moment is None:
        return "—"
    shown = local(moment)
    return f"{_day(shown, datetime.now(shown.tzinfo).date())}, {shown:%H:%M}"


@bp.app_template_filter("span")
def span(start: datetime, end: datetime | None) -> str:
    """ "Tue 24 Nov, 14:00\u201315:00" (an en dash), or both days when it runs past midnight."""
    if end is None:
        return when(start)
    first, last = local(start), local(end)
    if first.date() == last.date():
        return f"{when(start)}{EN_DASH}{last:%H:%M}"
    return f"{when(start)} {EN_DASH} {when(end)}"


@bp.app_template_filter("day")
def day(value: date | None) -> str:
    if value is None:
        return "—"
    return _day(datetime.combine(value, time()), datetime.now(user_zone()).date())


@bp.app_template_filter("ago")
def ago(moment: datetime | None) -> str:
    """ "in 5 minutes", "3 hours ago", "just now"."""
    if moment is None:
        return ""
    seconds = (moment - datetime.now(UTC)).total_seconds()
    size = abs(seconds)
    if size < 60:
        return "just now"
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if size >= length:
            count = int(size // length)
            amount = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"in {amount}" if seconds > 0 else f"{amount} ago"
    return ""  # unreachable: the loop ends on minutes


@bp.app_template_filter("person")
def person(attendee: AttendeeRow) -> str:
    email = attendee.get("email", "")
    if email[:7].lower() == "mailto:":
        email = email[7:]
    name = attendee.get("name", "")
    return f"{name} <{email}>" if name else email


@bp.app_template_filter("others")
def others(attendees: Iterable[AttendeeRow]) -> list[AttendeeRow]:
    """The attendees but the signed-in user (`domain.prompting.others`, the emails' rule too).

    A link's page may be open with nobody signed in: its view has left out the link's user
    by address already, and the calendar's owner is left out here."""
    email = current_user.email if current_user.is_authenticated else ""
    return prompting.others(attendees, email)


def input_date(moment: datetime) -> str:
    return local(moment).strftime("%Y-%m-%d")


def input_time(moment: datetime) -> str:
    return local(moment).strftime("%H:%M")


def minutes_between(start: datetime, end: datetime) -> int:
    return max(5, int((end - start) / timedelta(minutes=1)))

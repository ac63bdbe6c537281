"""The "try it with a sample calendar" source: a realistic sales week built around now.

Past meetings with three prospect companies get prompts; an internal meeting, a lunch and
an all-day event show what calsync leaves alone; a weekly series shows recurring meetings.
The sample is read within the request that adds it (it is tiny and needs no network), so
its prompts are in the inbox the user lands on, whether or not a worker runs the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.prompting import is_public_domain
from calsync.jobs import sync
from calsync.models import Source, User
from calsync.services.sources import add_source, reread

SAMPLE_NAME = "Sample sales week"
PRODID = "-//calsync//sample sales week//EN"

# Prospects are on .example (RFC 2606): no mail a curious user sends can reach anyone.
NORTHWIND = (("buyer@northwind.example", "Dana Whitfield"), ("cto@northwind.example", "Raj Patel"))
CONTOSO = (("procurement@contoso.example", "Lena Vogel"),)
FABRIKAM = (("ceo@fabrikam.example", "Marco Rossi"), ("finance@fabrikam.example", "Yuki Tanaka"))
WOODGROVE = (("head.sales@woodgrove.example", "Chris Okafor"),)


@dataclass(frozen=True)
class _Item:
    slug: str
    title: str
    day: date
    start: time | None  # None: an all-day event
    minutes: int = 60
    people: tuple[tuple[str, str], ...] = ()
    with_colleague: bool = False
    weekly: int = 0  # occurrences of a weekly series; 0 for a single event
    location: str = ""
    description: str = ""


def sample_ics(user: User, now: datetime | None = None) -> bytes:
    """The sample calendar for `user`, in their zone, with meetings placed around `now`."""
    now = now or datetime.now(UTC)
    tz = ZoneInfo(user.timezone)
    today = now.astimezone(tz).date()
    past = _working_days(today, -1, 4)  # most recent first
    ahead = _working_days(today, 1, 4)
    domain = user.email.rpartition("@")[2].lower()
    colleagues = not is_public_domain(domain)
    items = [
        _Item("northwind-discovery", "Northwind discovery call", past[2], time(10, 0), 45,
              NORTHWIND, with_colleague=True, location="Video call",
              description="First call: current tooling, team size, who signs."),
        _Item("contoso-demo", "Product demo for Contoso", past[1], time(14, 0), 60, CONTOSO,
              location="Contoso HQ, room 4.12"),
        _Item("fabrikam-pricing", "Fabrikam pricing discussion", past[0], time(11, 0), 30,
              FABRIKAM, with_colleague=True, location="Phone"),
        # The weekly check-in started last week: one occurrence is over, the rest ahead.
        _Item("contoso-weekly", "Contoso weekly check-in", past[3],
              time(16, 0), 30, CONTOSO, weekly=8, location="Video call"),
        _Item("lunch", "Lunch with Dana from Northwind", past[1], time(12, 30), 60,
              NORTHWIND[:1], location="Café Central"),
        _Item("pipeline", "Pipeline review" if colleagues else "Plan the week", past[0],
              time(9, 0), 30, (), with_colleague=True),
        _Item("fabrikam-proposal", "Fabrikam proposal walkthrough", ahead[1], time(10, 30), 60,
              FABRIKAM, location="Video call"),
        _Item("woodgrove-intro", "Intro call with Woodgrove Bank", ahead[0], time(15, 0), 30,
              WOODGROVE, location="Phone"),
        _Item("sales-kickoff", "Regional sales kickoff", ahead[2], None),
    ]
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", SAMPLE_NAME)
    for item in items:
        calendar.add_component(_event(item, user.email, domain if colleagues else "", tz, now))
    if user.timezone != "UTC":
        calendar.add_missing_timezones()
    ical: bytes = calendar.to_ical()
    return ical


def sample_source(session: Session, user: User) -> Source | None:
    """The user's sample source, if they added it."""
    return session.scalar(select(Source).where(
        Source.user_id == user.id, Source.name == SAMPLE_NAME, Source.url == ""))


def add_sample_source(session: Session, user: User, settings: Settings, *,
                      now: datetime | None = None) -> tuple[Source, bool]:
    """The user's sample source, added and read at once unless already there.

    Returns the source and whether it is new. Refused with LimitReached past
    CALSYNC_MAX_SOURCES_PER_USER. The sync commits as any sync does.
    """
    existing = sample_source(session, user)
    if existing is not None:
        return existing, False
    source = add_source(session, user, kind="ics", name=SAMPLE_NAME,
                        upload=sample_ics(user, now), max_bytes=settings.fetch_max_bytes,
                        max_sources=settings.max_sources_per_user)
    session.commit()
    # Synced here rather than queued: a worker could not be relied on to have made the
    # prompts by the time the inbox renders after the redirect.
    sync.sync_source(session, settings, source.id, now)
    return reread(session, source), True


def _event(item: _Item, user_email: str, own_domain: str, tz: ZoneInfo,
           now: datetime) -> Event:
    event = Event()
    event.add("uid", f"{item.slug}-{item.day.isoformat()}@sample.calsync")
    event.add("summary", item.title)
    event.add("dtstamp", now.astimezone(UTC))
    if item.start is None:
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        return event
    start = datetime.combine(item.day, item.start, tzinfo=tz)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=item.minutes))
    if item.weekly:
        event.add("rrule", {"freq": "weekly", "count": item.weekly})
    if item.location:
        event.add("location", item.location)
    if item.description:
        event.add("description", item.description)
    event.add("organizer", vCalAddress(f"mailto:{user_email}"))
    people = [(user_email, "")]
    if item.with_colleague and own_domain:
        people.append((f"sam.lee@{own_domain}", "Sam Lee"))
        if not item.people:
            people.append((f"head.of.sales@{own_domain}", "Alex Morgan"))
    people += list(item.people)
    for email, name in people:
        event.add("attendee", _address(email, name), encode=True)
    return event


def _address(email: str, name: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = name
    address.params["partstat"] = "ACCEPTED"
    return address


def _working_days(start: date, step: int, count: int) -> list[date]:
    """`count` Monday-to-Friday days from `start` (excluded), walking `step` days at a time."""
    days: list[date] = []
    day = start
    while len(days) < count:
        day += timedelta(days=step)
        if day.weekday() < 5:
            days.append(day)
    return days

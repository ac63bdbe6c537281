"""A calendar that fails the same way again is not parsed again, and is retried ever less
often (up to daily); a changed calendar is read at once. Through the real sync path, against
a real loopback HTTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.jobs import sync
from calsync.models import Meeting, Source, User
from calsync.providers import ics
from tests.servers.http_files import FileServer

START = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
BROKEN = b"BEGIN:VCALENDAR\r\nthis is not a property\r\nEND:VCALENDAR\r\n"
GOOD = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync tests//EN\r\nBEGIN:VEVENT\r\n"
        b"UID:fixed@acme-sales.com\r\nSUMMARY:Fixed\r\nDTSTART:20250312T090000Z\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the ICS provider parsed (the real parser runs; this only counts)."""
    seen: list[bytes] = []
    real = ics.parse_ics

    def counting(data: bytes, *args: Any, **kwargs: Any) -> Any:
        seen.append(data)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(ics, "parse_ics", counting)
    return seen


def add_source(session: Session, user: User, url: str = "", upload: bytes | None = None) -> int:
    row = Source(user_id=user.id, kind="ics", name="feed", url=url, upload=upload, options={},
                 cursor={}, warnings=[], next_sync_at=START)
    session.add(row)
    session.commit()
    return row.id


def sync_at(session: Session, settings: Settings, source_id: int, now: datetime) -> Source:
    sync.sync_source(session, settings, source_id, now=now)
    session.expire_all()
    source = session.get(Source, source_id)
    assert source is not None
    return source


@dataclass(frozen=True)
class Run:
    """What one sync left on the source."""

    at: datetime
    next_sync_at: datetime
    status: str
    last_error: str
    failure_count: int

    @property
    def delay(self) -> timedelta:
        return self.next_sync_at - self.at


def backoff(session: Session, settings: Settings, source_id: int, times: int,
            start: datetime = START) -> Iterator[Run]:
    """Sync whenever the source is due, `times` times."""
    now = start
    for _ in range(times):
        source = sync_at(session, settings, source_id, now)
        assert source.next_sync_at is not None
        yield Run(now, source.next_sync_at, source.status, source.last_error or "",
                  source.failure_count)
        now = source.next_sync_at


Serve = Callable[[FileServer, bytes], dict[str, str]]
SERVES: dict[str, Serve] = {
    "etag": lambda server, body: {"url": server.serve("/c.ics", body, etag=f'"{hash(body)}"')},
    "same bytes": lambda server, body: {"url": server.serve("/c.ics", body)},
}


@pytest.mark.parametrize("kind", sorted(SERVES))
def test_the_same_failing_feed_is_fetched_less_often_and_never_parsed_again(
        kind: str, db_session: Session, settings: Settings, user: User, http_files: FileServer,
        parses: list[bytes]) -> None:
    source_id = add_source(db_session, user, **SERVES[kind](http_files, BROKEN))
    runs = list(backoff(db_session, settings, source_id, 9))

    interval = timedelta(minutes=settings.sync_interval_minutes)
    assert [run.delay for run in runs] == [min(interval * 2 ** n, timedelta(hours=24))
                                           for n in range(9)]
    assert all(run.status == "error" and "could not read" in run.last_error for run in runs)
    assert runs[-1].failure_count == 9
    assert len(http_files.requests_to("/c.ics")) == 9  # one request per retry
    # Parsed once, and again only when the read window moves on to a new day.
    days = {sync.read_context(settings, user, run.at).window_end.date() for run in runs}
    assert len(parses) == len(days) < 9

    SERVES[kind](http_files, GOOD)  # the owner fixes the feed; the user presses "Sync now"
    fixed = sync_at(db_session, settings, source_id, runs[-1].at + timedelta(minutes=1))
    assert (fixed.status, fixed.failure_count, fixed.last_error) == ("ok", 0, None)
    assert parses[-1] == GOOD
    assert db_session.scalar(select(func.count(Meeting.id))
                             .where(Meeting.source_id == source_id)) == 1


def test_a_failing_upload_is_not_parsed_again_and_a_new_upload_is_read_at_once(
        db_session: Session, settings: Settings, user: User, parses: list[bytes]) -> None:
    source_id = add_source(db_session, user, upload=BROKEN)
    first = sync_at(db_session, settings, source_id, START)
    again = sync_at(db_session, settings, source_id, START + timedelta(minutes=15))
    assert again.last_error == first.last_error and again.failure_count == 2
    assert again.next_sync_at == START + timedelta(minutes=45)  # 15 minutes, then 30
    assert len(parses) == 1

    again.upload = GOOD
    db_session.commit()
    fixed = sync_at(db_session, settings, source_id, START + timedelta(minutes=16))
    assert fixed.status == "ok" and parses[-1] == GOOD
    assert fixed.next_sync_at == START + timedelta(minutes=16 + 15)


def test_a_different_failure_starts_the_wait_again(db_session: Session, settings: Settings,
                                                   user: User, http_files: FileServer,
                                                   parses: list[bytes]) -> None:
    url = http_files.serve("/c.ics", BROKEN)
    source_id = add_source(db_session, user, url=url)
    runs = list(backoff(db_session, settings, source_id, 3))
    assert runs[-1].delay == timedelta(minutes=60)
    http_files.serve("/c.ics", b"<!DOCTYPE html><html>Sign in</html>")
    now = runs[-1].next_sync_at
    other = sync_at(db_session, settings, source_id, now)
    assert "a web page, not a calendar" in (other.last_error or "")
    assert other.next_sync_at - now == timedelta(minutes=15)
    assert len(parses) == 2


def test_a_bug_in_parsing_says_so_and_is_not_retried_on_the_same_bytes(
        db_session: Session, settings: Settings, user: User, http_files: FileServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []

    def crashing(data: bytes, *args: Any, **kwargs: Any) -> Any:
        calls.append(data)
        raise KeyError("FREQ")  # what an empty RRULE used to raise from the parser

    monkeypatch.setattr(ics, "parse_ics", crashing)
    source_id = add_source(db_session, user, url=http_files.serve("/c.ics", GOOD))
    runs = list(backoff(db_session, settings, source_id, 3))
    assert "will try again" not in runs[-1].last_error
    assert "a problem in calsync" in runs[-1].last_error
    assert len(calls) == 1
    assert runs[-1].delay == timedelta(minutes=60)

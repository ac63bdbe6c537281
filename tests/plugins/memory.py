"""An in-memory provider: lets the sync algorithm be tested without any network.

Tests put meetings (or an error to raise) under a source id in `CALENDARS`.
"""

from __future__ import annotations

import time
from typing import Any

from calsync.domain.meeting import MeetingData
from calsync.errors import SourceError
from calsync.providers.base import (
    BaseProvider,
    ChangeSet,
    OutgoingEvent,
    ReadContext,
    RemoteEvent,
    SourceRef,
)

CALENDARS: dict[int, list[MeetingData] | SourceError] = {}
READS: list[int] = []
READ_DELAY = 0.0  # seconds each read takes, to hold a sync open


class MemoryProvider(BaseProvider):
    name = "memory"

    def _read(self, source: SourceRef, cursor: dict[str, Any], context: ReadContext) -> ChangeSet:
        READS.append(source.id)
        time.sleep(READ_DELAY)
        content = CALENDARS.get(source.id, [])
        if isinstance(content, SourceError):
            raise content
        version = str(hash(tuple(content)))
        if cursor.get("version") == version:
            return ChangeSet(cursor=cursor, unchanged=True)
        return ChangeSet(meetings=list(content), cursor={"version": version})


class NotAProvider:
    """Loading this by dotted path must fail: it is not a BaseProvider."""


# Events calsync wrote, per source id: {event_id: OutgoingEvent}; and failures to inject.
WRITTEN: dict[int, dict[str, OutgoingEvent]] = {}
# Every insert (a write without the etag of an earlier one), per source id, in order: keyed
# writes overwrite, so only this list shows an event inserted twice.
INSERTS: dict[int, list[str]] = {}
WRITE_FAILURES: list[SourceError] = []


class WritableMemoryProvider(MemoryProvider):
    """A calendar calsync may write follow-ups into, kept in `WRITTEN`."""

    name = "memory-writable"
    read_only = False
    supports_write = True

    def _write_event(self, source: SourceRef, event: OutgoingEvent) -> RemoteEvent:
        if WRITE_FAILURES:
            raise WRITE_FAILURES.pop(0)
        if not event.etag:
            INSERTS.setdefault(source.id, []).append(event.event_id)
        events = WRITTEN.setdefault(source.id, {})
        version = len(events.get(event.event_id, event).summary) + len(events)
        events[event.event_id] = event
        return RemoteEvent(event.calendar_id, event.event_id, f'"{version}"')

    def _delete_event(self, source: SourceRef, calendar_id: str, event_id: str) -> None:
        if WRITE_FAILURES:
            raise WRITE_FAILURES.pop(0)
        WRITTEN.get(source.id, {}).pop(event_id, None)

"""An in-memory provider: lets the sync algorithm be tested without any network.

Tests put meetings (or an error to raise) under a source id in `CALENDARS`.
"""

from __future__ import annotations

from typing import Any

from calsync.domain.meeting import MeetingData
from calsync.errors import SourceError
from calsync.providers.base import BaseProvider, ChangeSet, ReadContext, SourceRef

CALENDARS: dict[int, list[MeetingData] | SourceError] = {}
READS: list[int] = []


class MemoryProvider(BaseProvider):
    name = "memory"

    def _read(self, source: SourceRef, cursor: dict[str, Any], context: ReadContext) -> ChangeSet:
        READS.append(source.id)
        content = CALENDARS.get(source.id, [])
        if isinstance(content, SourceError):
            raise content
        version = str(hash(tuple(content)))
        if cursor.get("version") == version:
            return ChangeSet(cursor=cursor, unchanged=True)
        return ChangeSet(meetings=list(content), cursor={"version": version})


class NotAProvider:
    """Loading this by dotted path must fail: it is not a BaseProvider."""

"""The provider protocol: how calsync reads a kind of source and, where it can, writes to it.

A provider subclasses `BaseProvider`; the docstrings below are the contract. The public
methods do the shared checks and call the `_underscored` ones a provider overrides.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from calsync.config import Settings
from calsync.domain.meeting import MeetingData
from calsync.errors import UnsupportedOperation


@dataclass(frozen=True)
class SourceRef:
    """What a provider is told about the source it reads: never a database row."""

    id: int
    url: str = ""
    data: bytes | None = None  # an uploaded file's bytes, for sources without a URL
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadContext:
    """The window to read and the zone that floating (zone-less) times belong to."""

    window_start: datetime
    window_end: datetime
    timezone: ZoneInfo


@dataclass
class ChangeSet:
    """What changed since the cursor.

    `complete`: `meetings` is everything in the window, so a stored meeting missing from
    it has vanished. `unchanged`: nothing changed (an HTTP 304, the same bytes): sync does
    nothing but store the cursor.
    """

    meetings: list[MeetingData] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    unchanged: bool = False
    warnings: list[str] = field(default_factory=list)


class BaseProvider(ABC):
    """One kind of source. Subclasses set `name` and the capability flags, and override `_read`."""

    name: ClassVar[str] = ""
    # calsync never changes anything at this kind of source (an ICS feed, an upload).
    read_only: ClassVar[bool] = True
    # The source can notify calsync of changes (webhooks) instead of waiting for a poll.
    supports_push: ClassVar[bool] = False
    # calsync can write follow-up events into this kind of source.
    supports_write: ClassVar[bool] = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def read(self, source: SourceRef, cursor: Mapping[str, Any], context: ReadContext) -> ChangeSet:
        """Read what changed at `source` since `cursor` (empty: read everything in the window).

        Returns a ChangeSet whose `cursor` is stored and handed back next time.
        Raises SourceError with a sentence for the user when the source cannot be read;
        `transient=True` on it means "try again later".
        """
        return self._read(source, dict(cursor), context)

    def write_event(self, source: SourceRef, event: Mapping[str, Any]) -> Mapping[str, Any]:
        """Create or update a follow-up's event idempotently; returns the remote event.

        Raises UnsupportedOperation unless the provider `supports_write`.
        """
        self._require_write()
        return self._write_event(source, event)

    def delete_event(self, source: SourceRef, remote_id: str) -> None:
        """Delete an event calsync wrote; an already-missing event counts as deleted."""
        self._require_write()
        self._delete_event(source, remote_id)

    def describe(self) -> dict[str, Any]:
        """The capabilities, as shown in the API and on the source page."""
        return {
            "name": self.name,
            "read_only": self.read_only,
            "supports_push": self.supports_push,
            "supports_write": self.supports_write,
        }

    @abstractmethod
    def _read(self, source: SourceRef, cursor: dict[str, Any], context: ReadContext) -> ChangeSet:
        """Provider-specific reading; see `read`."""

    def _write_event(self, source: SourceRef, event: Mapping[str, Any]) -> Mapping[str, Any]:
        raise UnsupportedOperation(f"{self.name} sources cannot receive events.")

    def _delete_event(self, source: SourceRef, remote_id: str) -> None:
        raise UnsupportedOperation(f"{self.name} sources cannot delete events.")

    def _require_write(self) -> None:
        if self.read_only or not self.supports_write:
            raise UnsupportedOperation(f"{self.name} sources are read-only in calsync.")

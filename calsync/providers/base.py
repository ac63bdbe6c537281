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
from calsync.domain.vocabulary import FollowUpStatus
from calsync.errors import UnsupportedOperation


@dataclass(frozen=True)
class SourceRef:
    """What a provider is told about the source it reads: never a database row.

    `credentials` are the unsealed tokens of an account-backed source. A provider that
    refreshes them updates this dict in place; calsync seals and stores it again.
    """

    id: int
    url: str = ""
    data: bytes | None = None  # an uploaded file's bytes, for sources without a URL
    options: Mapping[str, Any] = field(default_factory=dict)
    credentials: dict[str, Any] | None = None


@dataclass(frozen=True)
class OutgoingEvent:
    """A follow-up as calsync writes it to a calendar.

    `event_id` is derived from the follow-up, so a retried insert can never make a second
    event; `etag` is what the last write returned (for If-Match), empty before the first.
    """

    calendar_id: str
    event_id: str
    summary: str
    description: str
    start: datetime
    end: datetime
    timezone: str
    status: FollowUpStatus
    reminder_minutes: int | None  # None: no reminder (a promise already delivered)
    private_properties: Mapping[str, str]
    etag: str = ""
    # False when the times are the ones calsync last wrote: an update then leaves the
    # calendar's times alone, so a move the user made there is not undone.
    times_changed: bool = True


@dataclass(frozen=True)
class RemoteEvent:
    """Where a written event now lives, and its version."""

    calendar_id: str
    event_id: str
    etag: str


@dataclass(frozen=True)
class PushChannelSpec:
    """A push channel to open: Google calls `address` with `channel_id` and `token`."""

    calendar_id: str
    channel_id: str
    token: str
    address: str


@dataclass(frozen=True)
class OpenedChannel:
    calendar_id: str
    channel_id: str
    resource_id: str
    expires_at: datetime | None


# The private extended property (or equivalent) that marks an event as calsync's follow-up.
FOLLOWUP_MARK = "calsync_followup"


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
    nothing but store the cursor. `deleted`: keys (uid, recurrence_id) the source reports
    as deleted, for incremental reads that send tombstones instead of whole events.
    `complete_uids`: UIDs an incremental read read whole: a stored meeting of one of them
    missing from `meetings` has vanished, as `complete` says of every meeting.
    A meeting whose `extra` has `FOLLOWUP_MARK` is a follow-up calsync wrote there itself:
    sync moves or cancels that follow-up instead of importing a meeting.
    """

    meetings: list[MeetingData] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    complete_uids: list[str] = field(default_factory=list)
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

    def write_event(self, source: SourceRef, event: OutgoingEvent) -> RemoteEvent:
        """Create or update a follow-up's event idempotently; returns where it now is.

        Writing the same event twice leaves one event. Raises SourceError (transient for
        rate limits and outages), UnsupportedOperation unless the provider `supports_write`.
        """
        self._require_write()
        return self._write_event(source, event)

    def delete_event(self, source: SourceRef, calendar_id: str, event_id: str) -> None:
        """Delete an event calsync wrote; an already-missing event counts as deleted."""
        self._require_write()
        self._delete_event(source, calendar_id, event_id)

    def open_channel(self, source: SourceRef, spec: PushChannelSpec) -> OpenedChannel:
        """Ask the source to notify `spec.address` of changes to one calendar.

        Raises UnsupportedOperation unless the provider `supports_push`.
        """
        self._require_push()
        return self._open_channel(source, spec)

    def close_channel(self, source: SourceRef, channel_id: str, resource_id: str) -> None:
        """Stop a channel; an unknown or expired one counts as stopped."""
        self._require_push()
        self._close_channel(source, channel_id, resource_id)

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

    # A provider overrides these when its capability flags say it can.
    def _write_event(self, source: SourceRef, event: OutgoingEvent) -> RemoteEvent:
        raise UnsupportedOperation(f"{self.name} sources cannot receive events.")

    def _delete_event(self, source: SourceRef, calendar_id: str, event_id: str) -> None:
        raise UnsupportedOperation(f"{self.name} sources cannot delete events.")

    def _open_channel(self, source: SourceRef, spec: PushChannelSpec) -> OpenedChannel:
        raise UnsupportedOperation(f"{self.name} sources cannot push changes.")

    def _close_channel(self, source: SourceRef, channel_id: str, resource_id: str) -> None:
        raise UnsupportedOperation(f"{self.name} sources cannot push changes.")

    def _require_write(self) -> None:
        if self.read_only or not self.supports_write:
            raise UnsupportedOperation(f"{self.name} sources are read-only in calsync.")

    def _require_push(self) -> None:
        if not self.supports_push:
            raise UnsupportedOperation(f"{self.name} sources cannot push changes.")

"""The provider contract, asserted once: every provider's tests subclass `ProviderContract`
(`WritableProviderContract` for those that receive follow-ups) and give it the fixtures
`provider`, `source` and `calendar` (a `CalendarDriver` that changes the real calendar
behind the source, as its user would).

Reads are judged by what sync would store (`Applied`): a provider may answer a re-read with
"unchanged", the whole window, or only the changes, as long as the result is the calendar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pytest

from calsync.domain.vocabulary import FollowUpStatus
from calsync.errors import UnsupportedOperation
from calsync.providers.base import (
    FOLLOWUP_MARK,
    BaseProvider,
    ChangeSet,
    OutgoingEvent,
    ReadContext,
    SourceRef,
)

EVENT_ID = "c0ffee0123456789"  # valid for every provider (Google wants base32hex)


class CalendarDriver(Protocol):
    """The calendar behind a source, changed as its user would change it."""

    def add(self, uid: str, start: datetime, title: str) -> str:
        """Add a 30-minute meeting; returns the uid the provider reports it under."""

    def move(self, uid: str, start: datetime) -> None: ...

    def remove(self, uid: str) -> None: ...

    def written_calendar(self) -> str:
        """The calendar id follow-ups are written to (writable providers only)."""


def hour(days: int, at: int = 10) -> datetime:
    day = datetime.now(UTC).replace(hour=at, minute=0, second=0, microsecond=0)
    return day + timedelta(days=days)


def window() -> ReadContext:
    now = datetime.now(UTC)
    return ReadContext(now - timedelta(days=30), now + timedelta(days=120),
                       ZoneInfo("Europe/Berlin"))


@dataclass
class Applied:
    """What sync would hold after applying each read: meetings by key, and the cursor."""

    provider: BaseProvider
    source: SourceRef
    context: ReadContext = field(default_factory=window)
    meetings: dict[tuple[str, str], Any] = field(default_factory=dict)
    cursor: dict[str, Any] = field(default_factory=dict)

    def read(self) -> ChangeSet:
        changes = self.provider.read(self.source, self.cursor, self.context)
        # The cursor is stored as JSON: it must survive the trip.
        self.cursor = json.loads(json.dumps(changes.cursor))
        if changes.unchanged:
            return changes
        keys = [m.key for m in changes.meetings]
        assert len(keys) == len(set(keys)), f"a meeting read twice: {keys}"
        if changes.complete:
            self.meetings = {}
        for uid, rid in changes.deleted:
            self.meetings = {k: m for k, m in self.meetings.items()
                             if not (k[0] == uid and rid in ("", k[1]))}
        self.meetings.update({m.key: m for m in changes.meetings})
        return changes

    def others(self) -> dict[tuple[str, str], Any]:
        """The meetings that are not calsync's own follow-up events."""
        return {k: m for k, m in self.meetings.items() if not m.extra.get(FOLLOWUP_MARK)}


class ProviderContract:
    """Behaviours every provider keeps; subclasses provide the fixtures named above."""

    @pytest.fixture
    def applied(self, provider: BaseProvider, source: SourceRef) -> Applied:
        return Applied(provider, source)

    def test_a_first_read_is_the_whole_window(self, applied: Applied,
                                              calendar: CalendarDriver) -> None:
        a = calendar.add("contract-a", hour(1), "Pricing call")
        b = calendar.add("contract-b", hour(2, at=14), "Demo")
        first = applied.read()
        assert first.complete and not first.unchanged
        assert set(applied.others()) == {(a, ""), (b, "")}
        assert applied.meetings[(a, "")].title == "Pricing call"
        assert applied.meetings[(b, "")].start == hour(2, at=14)

    def test_a_read_with_nothing_changed_loses_nothing(self, applied: Applied,
                                                       calendar: CalendarDriver) -> None:
        a = calendar.add("contract-a", hour(1), "Pricing call")
        applied.read()
        again = applied.read()
        assert set(applied.others()) == {(a, "")}
        assert again.unchanged or again.complete or not again.meetings

    def test_a_moved_meeting_keeps_its_key(self, applied: Applied,
                                           calendar: CalendarDriver) -> None:
        a = calendar.add("contract-a", hour(1), "Pricing call")
        applied.read()
        calendar.move(a, hour(3, at=15))
        applied.read()
        assert set(applied.others()) == {(a, "")}
        assert applied.meetings[(a, "")].start == hour(3, at=15)

    def test_a_removed_meeting_goes(self, applied: Applied, calendar: CalendarDriver) -> None:
        a = calendar.add("contract-a", hour(1), "Pricing call")
        b = calendar.add("contract-b", hour(2), "Demo")
        applied.read()
        calendar.remove(a)
        applied.read()
        assert set(applied.others()) == {(b, "")}

    def test_capabilities_are_what_it_says(self, provider: BaseProvider,
                                           source: SourceRef) -> None:
        described = provider.describe()
        assert described["supports_write"] == provider.supports_write
        if not provider.supports_write:
            with pytest.raises(UnsupportedOperation):
                provider.write_event(source, followup("nowhere"))
            with pytest.raises(UnsupportedOperation):
                provider.delete_event(source, "nowhere", EVENT_ID)



class WritableProviderContract(ProviderContract):
    """What a provider that receives follow-ups keeps on top: idempotent writes whose events
    it reads back as calsync's own."""

    def test_it_says_it_takes_writes(self, provider: BaseProvider) -> None:
        assert provider.supports_write and not provider.read_only

    def test_a_retried_write_leaves_one_event_read_as_calsyncs(
            self, provider: BaseProvider, applied: Applied, calendar: CalendarDriver) -> None:
        target = calendar.written_calendar()
        first = provider.write_event(applied.source, followup(target))
        again = provider.write_event(applied.source, followup(target, "Email: Acme (again)"))
        assert again.event_id == first.event_id
        applied.read()
        own = [m for m in applied.meetings.values() if m.extra.get(FOLLOWUP_MARK)]
        assert [(m.uid, m.extra[FOLLOWUP_MARK]) for m in own] == [(first.event_id, "fu-1")]
        assert not applied.others()  # calsync's own event is never a meeting
        provider.delete_event(applied.source, target, first.event_id)
        provider.delete_event(applied.source, target, first.event_id)  # gone: still fine
        applied.cursor = {}
        applied.read()
        assert applied.meetings == {}


def followup(calendar_id: str, summary: str = "Email: Acme") -> OutgoingEvent:
    return OutgoingEvent(
        calendar_id=calendar_id, event_id=EVENT_ID, summary=summary, description="Offer",
        start=hour(4), end=hour(4) + timedelta(minutes=15), timezone="Europe/Berlin",
        status=FollowUpStatus.PLANNED, reminder_minutes=10,
        private_properties={FOLLOWUP_MARK: "fu-1"})

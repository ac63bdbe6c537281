"""Providers load by built-in name, entry point or dotted path; read-only ones refuse writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calsync import providers
from calsync.errors import PluginError, UnsupportedOperation
from calsync.providers.base import OutgoingEvent, PushChannelSpec, SourceRef
from tests.plugins.memory import MemoryProvider

NOW = datetime.now(UTC)


def test_builtin_and_dotted_path() -> None:
    assert providers.load("ics").name == "ics"
    assert providers.load("tests.plugins.memory:MemoryProvider") is MemoryProvider
    assert "ics" in providers.available()


@pytest.mark.parametrize("name", ["nope", "tests.plugins.memory:NotAProvider",
                                  "tests.plugins.memory:Missing", "no.such.module:Thing"])
def test_unknown_names_list_the_valid_ones(name: str) -> None:
    with pytest.raises(PluginError) as caught:
        providers.load(name)
    assert "ics" in caught.value.valid
    assert "Valid names: caldav, google, ics" in str(caught.value)


def test_read_only_provider_refuses_writes(settings) -> None:  # type: ignore[no-untyped-def]
    provider = providers.load("ics")(settings)
    assert provider.describe() == {"name": "ics", "read_only": True, "supports_push": False,
                                   "supports_write": False}
    with pytest.raises(UnsupportedOperation):
        provider.write_event(SourceRef(id=1, url="https://x.example/a.ics"), OutgoingEvent(
            calendar_id="c", event_id="e1234", summary="x", description="", start=NOW,
            end=NOW, timezone="UTC", status="planned", reminder_minutes=10,
            private_properties={}))
    with pytest.raises(UnsupportedOperation):
        provider.delete_event(SourceRef(id=1), "c", "event-1")
    with pytest.raises(UnsupportedOperation):
        provider.open_channel(SourceRef(id=1), PushChannelSpec("c", "ch", "t", "https://x"))

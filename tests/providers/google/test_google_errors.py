"""Google's errors are ridden out or explained: rate limits and outages back off (about
1, 2, 4 s with jitter) inside the provider, a vanished calendar disables the source, a
revoked grant asks for a reconnect, and refreshed tokens are handed back to calsync."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from calsync.emulator import GoogleEmulator
from calsync.errors import SourceError
from calsync.providers import google_client
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.google import GoogleProvider, list_calendars
from tests.providers.google.gcal import EMAIL, TEAM, hour, lists, timed

RefMaker = Callable[..., SourceRef]


def test_rate_limits_and_outages_back_off_then_succeed(
        emulator: GoogleEmulator, provider: GoogleProvider, make_ref: RefMaker,
        context: ReadContext, sleeps: list[float]) -> None:
    emulator.add_event(EMAIL, timed(hour(days=1)))
    emulator.fail_next(1, 403, "rateLimitExceeded")
    emulator.fail_next(1, 429, "userRateLimitExceeded")
    emulator.fail_next(1, 500, "backendError")
    changes = provider.read(make_ref(), {}, context)
    assert len(changes.meetings) == 1 and len(lists(emulator)) == 4
    assert len(sleeps) == 3
    for waited, expected in zip(sleeps, (1, 2, 4), strict=True):
        assert 0.8 * expected <= waited <= 1.2 * expected


def test_an_outage_that_lasts_gives_a_transient_error(
        emulator: GoogleEmulator, provider: GoogleProvider, make_ref: RefMaker,
        context: ReadContext, sleeps: list[float]) -> None:
    emulator.fail_next(50, 503, "backendError")
    with pytest.raises(SourceError) as caught:
        provider.read(make_ref(), {}, context)
    assert caught.value.transient and caught.value.status == "error"
    assert "try again" in caught.value.message and "503" not in caught.value.message
    assert len(lists(emulator)) == google_client.MAX_TRIES
    assert len(sleeps) == google_client.MAX_TRIES - 1
    assert max(sleeps) <= google_client.MAX_DELAY


def test_backoff_is_capped_at_a_minute() -> None:
    for n in (1, 2, 3, 4):
        assert 0.8 * 2 ** (n - 1) <= google_client.backoff(n) <= 1.2 * 2 ** (n - 1)
    assert all(google_client.backoff(n) <= 60 for n in range(1, 20))
    assert google_client.backoff(12) >= 48


def test_a_calendar_that_vanished_disables_the_source_with_its_name(
        emulator: GoogleEmulator, provider: GoogleProvider, make_ref: RefMaker,
        context: ReadContext) -> None:
    ref = make_ref(EMAIL, "gone@group.calendar.google.example")
    ref.options["calendar_names"]["gone@group.calendar.google.example"] = "Old team"
    with pytest.raises(SourceError) as caught:
        provider.read(ref, {}, context)
    assert caught.value.status == "disabled" and not caught.value.transient
    assert "“Old team”" in caught.value.message


def test_a_revoked_grant_needs_a_reconnect(emulator: GoogleEmulator, provider: GoogleProvider,
                                           make_ref: RefMaker, context: ReadContext) -> None:
    ref = make_ref()
    emulator.revoke_grant(EMAIL)
    with pytest.raises(SourceError) as caught:
        provider.read(ref, {}, context)
    assert caught.value.status == "needs_reconnect"
    assert caught.value.message == ("Google no longer lets calsync read this calendar: "
                                    "reconnect it.")


def test_missing_tokens_need_a_reconnect(provider: GoogleProvider,
                                         context: ReadContext) -> None:
    ref = SourceRef(id=1, options={"calendars_read": [EMAIL]}, credentials=None)
    with pytest.raises(SourceError) as caught:
        provider.read(ref, {}, context)
    assert caught.value.status == "needs_reconnect"


def test_a_refreshed_token_is_written_back_into_the_ref(
        emulator: GoogleEmulator, provider: GoogleProvider, make_ref: RefMaker,
        context: ReadContext) -> None:
    ref = make_ref()
    assert ref.credentials is not None
    old = dict(ref.credentials)
    emulator.expire_access_tokens()
    provider.read(ref, {}, context)
    assert [r.path for r in emulator.requests] == [
        f"/calendar/v3/calendars/{EMAIL}/events", "/token",
        f"/calendar/v3/calendars/{EMAIL}/events"]
    assert ref.credentials["token"] != old["token"]
    assert ref.credentials["refresh_token"] == old["refresh_token"]
    expiry = datetime.fromisoformat(ref.credentials["expiry"])
    assert expiry.tzinfo is not None and expiry > datetime.now(UTC)

    # An expiry already past makes google-auth refresh before it asks.
    ref.credentials["expiry"] = "2020-01-01T00:00:00Z"
    before = len(emulator.requests)
    provider.read(ref, {}, context)
    assert emulator.requests[before].path == "/token"


def test_list_calendars_for_the_picker(emulator: GoogleEmulator, google_settings,
                                       credentials) -> None:  # type: ignore[no-untyped-def]
    tokens = credentials()
    found = list_calendars(google_settings, tokens)
    assert found == [
        {"id": EMAIL, "summary": EMAIL, "primary": True, "accessRole": "owner",
         "timeZone": "Europe/Berlin"},
        {"id": TEAM, "summary": "Team", "primary": False, "accessRole": "owner",
         "timeZone": "Europe/Berlin"}]

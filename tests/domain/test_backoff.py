"""The one retry backoff: doubling from a base, capped, safe for any number of attempts."""

from __future__ import annotations

from datetime import timedelta

from calsync.domain.backoff import backoff

SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)


def test_the_wait_doubles_from_the_base_after_each_attempt() -> None:
    assert [backoff(n, SECOND, MINUTE) for n in range(1, 7)] == [
        timedelta(seconds=s) for s in (1, 2, 4, 8, 16, 32)]


def test_the_wait_stops_at_the_cap() -> None:
    assert backoff(7, SECOND, MINUTE) == MINUTE  # 64 s would pass it
    assert backoff(3, timedelta(minutes=15), timedelta(hours=1)) == timedelta(hours=1)


def test_no_attempt_yet_waits_the_base() -> None:
    assert backoff(0, MINUTE, timedelta(hours=6)) == MINUTE


def test_months_of_attempts_never_overflow() -> None:
    assert backoff(100_000, timedelta(days=1), timedelta(days=30)) == timedelta(days=30)


def test_a_cap_below_the_base_wins() -> None:
    assert backoff(1, timedelta(minutes=15), MINUTE) == MINUTE

"""How long to wait before trying again: the wait doubles with each failed attempt, up to
a cap. Every retry in calsync (outbox entries, failing sources, calls to Google) waits
this way."""

from __future__ import annotations

from datetime import timedelta


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """`base` after the first failed attempt, twice as long after each further one (1, 2,
    4, 8 ... times `base`), never longer than `cap`. `base` must be positive."""
    factor: int = 2 ** max(attempts - 1, 0)
    # Compared before multiplying: a source failing for months counts thousands of
    # attempts, and `base * factor` would overflow timedelta long before.
    if factor >= cap / base:
        return cap
    return base * factor

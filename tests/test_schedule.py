"""Periodic jobs run once per interval however many workers' schedulers fire."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from flask import Flask

from calsync.db import get_db
from calsync.jobs import schedule

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_one_claim_per_interval(db_session) -> None:  # type: ignore[no-untyped-def]
    minute = timedelta(minutes=1)
    assert schedule.claim(db_session, "tick", minute, NOW)
    assert not schedule.claim(db_session, "tick", minute, NOW + timedelta(seconds=30))
    assert schedule.claim(db_session, "tick", minute, NOW + timedelta(seconds=58))  # slack
    assert schedule.claim(db_session, "other", minute, NOW)  # marks are per job


def test_concurrent_workers_claim_once(app: Flask) -> None:
    winners: list[bool] = []
    barrier = threading.Barrier(6)

    def worker(offset: int) -> None:
        with app.app_context(), get_db().session() as session:
            barrier.wait()
            winners.append(schedule.claim(session, "tick", timedelta(minutes=1),
                                          NOW + timedelta(milliseconds=offset)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert winners.count(True) == 1 and len(winners) == 6

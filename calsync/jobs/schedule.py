"""Periodic jobs run once per interval across all workers, however many run a scheduler.

A job runs only in the worker whose conditional UPDATE moves the job's mark forward.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from calsync.db import rows_changed
from calsync.models import ScheduleMark


def claim(session: Session, name: str, interval: timedelta, now: datetime) -> bool:
    """True for exactly one caller per `interval`; the rest are told to skip this round.
    Commits the mark before the job runs, so every other worker sees the turn taken."""
    # Slack below the interval: a scheduler ticking a little early must not lose its turn.
    due_before = now - interval + min(interval / 10, timedelta(seconds=5))
    moved = session.execute(
        update(ScheduleMark)
        .where(ScheduleMark.name == name, ScheduleMark.last_run_at <= due_before)
        .values(last_run_at=now))
    if rows_changed(moved):
        session.commit()
        return True
    if session.get(ScheduleMark, name) is not None:
        session.rollback()
        return False
    try:
        session.add(ScheduleMark(name=name, last_run_at=now))
        session.commit()
    except IntegrityError:  # another worker created the mark first: it runs this round
        session.rollback()
        return False
    return True

"""A source of the in-memory provider (tests/plugins/memory.py), for tests of sync and prompts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session

from calsync.models import Source, User
from tests.plugins import memory

MEMORY = "tests.plugins.memory:MemoryProvider"


@contextmanager
def memory_source(session: Session, user: User, due: datetime) -> Iterator[Source]:
    """`user`'s in-memory source, due to sync at `due`; its calendar goes when done, so no
    test sees another's meetings under a reused id."""
    row = Source(user_id=user.id, kind=MEMORY, name="memory", url="", options={}, cursor={},
                 warnings=[], next_sync_at=due)
    session.add(row)
    session.commit()
    try:
        yield row
    finally:
        memory.CALENDARS.pop(row.id, None)

"""Database engine and sessions: one engine per app, one session per request or job.

`get_session()` gives the request's session; `Database.session()` scopes one for a job.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import CursorResult, Engine, Result, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from calsync.config import Settings


class Database:
    def __init__(self, url: str, *, busy_timeout_seconds: float = 15,
                 **engine_options: Any) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, **engine_options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect",
                         partial(_sqlite_pragmas, busy_ms=round(busy_timeout_seconds * 1000)))
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for one unit of work: committed by the caller, rolled back on error."""
        session = self.sessionmaker()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (readiness checks)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


# After each batch of a long write on SQLite: a writer waiting on the lock retries every
# 100 ms at most, and needs a gap between two batches to get in.
SQLITE_BATCH_PAUSE = 0.02


def commit_batch(session: Session) -> None:
    """Commit one batch of a long write, letting other writers through before the next."""
    session.commit()
    if session.get_bind().dialect.name == "sqlite":
        time.sleep(SQLITE_BATCH_PAUSE)


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed: a conditional write's "did I win?"."""
    # Session.execute() is typed to return a Result; for a DML statement it is a
    # CursorResult, the one that counts rows.
    assert isinstance(result, CursorResult)
    return result.rowcount


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_ms: int) -> None:
    # WAL lets the web process read while the worker writes; the timeout rides out the
    # brief write locks instead of failing with "database is locked". Those stay brief
    # because a sync writes in batches (calsync.jobs.sync.WRITE_BATCH), each its own commit.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.close()


def init_app(app: Flask, settings: Settings) -> Database:
    options: dict[str, Any] = {"pool_pre_ping": True}
    if not settings.database_url.startswith("sqlite"):
        options.update(pool_size=settings.db_pool_size, max_overflow=settings.db_pool_size)
    database = Database(settings.database_url,
                        busy_timeout_seconds=settings.sqlite_busy_timeout_seconds, **options)
    app.extensions["calsync.db"] = database
    app.teardown_appcontext(_end_session)
    return database


def get_db() -> Database:
    database: Database = current_app.extensions["calsync.db"]
    return database


def get_session() -> Session:
    """The session of the current request or app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    session: Session = g.db_session
    return session


def _end_session(_exc: BaseException | None) -> None:
    """The one place a request's unfinished work is undone: services commit what they
    finish, so whatever is still pending here belongs to a request that failed (an error
    page or a refused form) and is rolled back, whichever handler answered it."""
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()

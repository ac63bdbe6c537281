"""The per-user feed behind its secret URL: rendered from follow-ups once per change, cached
with its gzipped twin and validators, and served from one lookup by token while current.

Last-Modified is when the bytes last changed, so a deletion moves it as surely as an edit.
The cache is current until calsync.feed.invalidation marks it stale or a cancelled entry's
30 days run out (its expiry).
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, bindparam, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from calsync.config import Settings
from calsync.domain.vocabulary import FollowUpStatus
from calsync.feed.render import FeedEvent, feed_events, next_expiry, render_feed, strong_etag
from calsync.models import FeedState, FollowUp, User
from calsync.services.links import followup_url

REFRESH_MINUTES = 60
_SECOND = timedelta(seconds=1)


def feed_url(settings: Settings, user: User) -> str:
    return f"{settings.base_url.rstrip('/')}/feed/{user.feed_token}.ics"


def webcal_url(settings: Settings, user: User) -> str:
    return "webcal://" + feed_url(settings, user).split("://", 1)[1]


def deal_url(settings: Settings, deal_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/deals/{deal_id}"


def answer_url(settings: Settings, followup: FollowUp) -> str:
    """ "How did it go?" on the follow-up's event (its own address: the same on every
    render); none on a cancelled one, which nobody is asked about."""
    if followup.status is FollowUpStatus.CANCELLED:
        return ""
    return followup_url(settings, followup.user_id, followup.id, followup.end)


Encoding = Literal["identity", "gzip"]


@dataclass(frozen=True)
class CachedFeed:
    """A user's stored feed as served: its validators, and its bytes when asked for."""

    user_id: int
    etag: str  # quoted, of the identity bytes; gzip_etag() gives the gzipped bytes' tag
    last_modified: datetime
    current: bool  # False: render again (current_feed) before serving it
    body: bytes | None = None


def gzip_etag(etag: str) -> str:
    """The gzipped bytes' tag: RFC 9110 8.8.3 wants a different tag per representation."""
    return f'{etag[:-1]}-gz"'


def lookup(session: Session, token: str, now: datetime,
           body: Encoding | None = None) -> CachedFeed | None:
    """The feed at this secret token from one indexed lookup, its bytes in the encoding asked
    for (none for a conditional request); None for an unknown token."""
    if not _plausible(token):
        return None
    row = session.connection().execute(_LOOKUPS[body], {"token": token}).one_or_none()
    return None if row is None else _cached(tuple(row), now, body)


class TokenLookup:
    """lookup() for the feed's fast path (calsync.web.feed_fast_path), on a DBAPI connection each
    thread keeps: the statements compiled once for the engine's dialect, their rows converted by
    the columns' own result processors. A poll is this one query, and SQLAlchemy's execution
    around it cost more than the query (bench.feed_serving: about 150 of 240 µs per poll), and
    the pool's checkout (with its ping) and return nearly as much as the query again."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors: type[Exception] = engine.dialect.loaded_dbapi.Error
        self.queries = {body: _Query(statement, engine) for body, statement in _LOOKUPS.items()}
        self.connections = ThreadConnections(engine)

    def __call__(self, token: str, now: datetime,
                 body: Encoding | None = None) -> CachedFeed | None:
        """As lookup(); raises self.errors (the driver's own) when the database fails."""
        if not _plausible(token):
            return None
        query = self.queries[body]
        row = self.fetch(query.sql, query.parameters(token))
        return None if row is None else _cached(query.convert(row), now, body)

    def fetch(self, sql: str, parameters: tuple[str, ...] | dict[str, str]) -> Any:
        """The first row `sql` gives, on this thread's connection."""
        connection = self.connections.get()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, parameters)
            row = cursor.fetchone()
            cursor.close()
            # Ends the transaction a driver may have begun for the read (psycopg does; sqlite3
            # doesn't), so the next poll reads what was committed since.
            connection.rollback()
            return row
        except self.errors:
            # Gone or not, a connection that failed is replaced: with no ping before each
            # poll, this is how a dropped one is noticed (its poll goes to Flask meanwhile).
            self.connections.drop()
            raise


class ThreadConnections:
    """A DBAPI connection for each thread, made by the engine's pool (so its connect hooks run:
    SQLite's pragmas) and detached from it, so that a thread keeping one takes nothing from
    the pool's limit; closed when its thread ends, and all when the engine is disposed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.local = threading.local()
        self.kept: weakref.WeakSet[_Kept] = weakref.WeakSet()
        self.lock = threading.Lock()
        event.listen(engine, "engine_disposed", self.close_all)

    def get(self) -> Any:
        """This thread's connection, made now if it has none."""
        kept: _Kept | None = getattr(self.local, "kept", None)
        if kept is None:
            pooled = self.engine.raw_connection()
            pooled.detach()
            kept = _Kept(pooled.dbapi_connection)
            with self.lock:
                self.kept.add(kept)
            self.local.kept = kept
        return kept.connection

    def drop(self) -> None:
        """Close this thread's connection; the next get() makes another."""
        kept: _Kept | None = vars(self.local).pop("kept", None)
        if kept is not None:
            kept.close()

    def close_all(self, _engine: Engine | None = None) -> None:
        with self.lock:
            closing = list(self.kept)
            self.local = threading.local()  # every thread makes a new one when next asked
        for kept in closing:
            kept.close()


class _Kept:
    """One thread's connection, closed when the thread ends (and its threading.local with it):
    a server that starts a thread per request (werkzeug's) leaves none open behind."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.close = weakref.finalize(self, _close, connection)


def _close(connection: Any) -> None:
    with contextlib.suppress(Exception):  # closing one already broken may fail as well
        connection.close()


class _Query:
    """One lookup statement as the engine's driver takes it."""

    def __init__(self, statement: Select[Any], engine: Engine) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positions = compiled.positiontup if compiled.positional else None
        self.processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                           for column in statement.selected_columns]

    def parameters(self, token: str) -> tuple[str, ...] | dict[str, str]:
        # The one parameter is a plain string: no bind processing to apply.
        if self.positions is not None:
            return tuple(token for _ in self.positions)
        return {"token": token}

    def convert(self, row: Any) -> tuple[Any, ...]:
        return tuple(value if process is None else process(value)
                     for process, value in zip(self.processors, row, strict=True))


def _plausible(token: str) -> bool:
    return 0 < len(token) <= 64


def _cached(row: tuple[Any, ...], now: datetime, body: Encoding | None) -> CachedFeed:
    user_id, etag, last_modified, generation, rendered, expires_at = row[:6]
    if etag is None:  # never rendered
        return CachedFeed(user_id, "", now, current=False)
    current = _current(generation, rendered, expires_at, _second(now))
    stored = cast(bytes | None, row[6]) if body is not None else None
    return CachedFeed(user_id, etag, last_modified, current, stored)


def _lookup(*body: InstrumentedAttribute[Any]) -> Select[Any]:
    return (select(User.id, FeedState.etag, FeedState.last_modified, FeedState.generation,
                   FeedState.rendered_generation, FeedState.expires_at, *body)
            .outerjoin(FeedState, FeedState.user_id == User.id)
            .where(User.feed_token == bindparam("token")))


_LOOKUPS: dict[Encoding | None, Select[Any]] = {
    None: _lookup(), "identity": _lookup(FeedState.body), "gzip": _lookup(FeedState.body_gzip)}


def current_feed(session: Session, settings: Settings, user: User,
                 now: datetime | None = None) -> FeedState:
    """The user's stored feed, rendered again first if stale; stored validators move only when
    the bytes change. Commits (when anything was stored)."""
    now = _second(now or datetime.now(UTC))
    # Read afresh: the generation read here, before the follow-ups, is the one this render
    # is current for (a change committed meanwhile bumps it past).
    state = session.get(FeedState, user.id, populate_existing=True)
    if state is None:
        state = _first_state(session, user.id, now)
    elif _current(state.generation, state.rendered_generation, state.expires_at, now):
        return state
    generation = state.generation
    events = feed_events(_events(session, settings, user), now)
    body = render_feed(events, calendar_name=f"calsync follow-ups ({user.email})",
                       tz=ZoneInfo(user.timezone), refresh_minutes=REFRESH_MINUTES)
    etag = strong_etag(body)
    if state.etag != etag:
        # HTTP dates have whole seconds: a change within the same second must still move
        # Last-Modified, or If-Modified-Since clients would miss it.
        state.last_modified = max(now, state.last_modified + _SECOND) if state.etag else now
        state.etag, state.body, state.body_gzip = etag, body, _gzip(body)
    elif state.body_gzip is None:  # stored before gzip was
        state.body_gzip = _gzip(body)
    state.rendered_generation = generation
    state.expires_at = next_expiry(events)
    session.commit()
    return state


def served(session: Session, settings: Settings, found: CachedFeed, now: datetime,
           body: Encoding) -> CachedFeed:
    """The feed found by lookup() with its bytes: stored ones when current, else rendered."""
    if found.current and found.body is not None:
        return found
    user = session.get(User, found.user_id)
    assert user is not None  # found by its token a moment ago; deleting cascades to none
    state = current_feed(session, settings, user, now)
    return CachedFeed(user.id, state.etag, state.last_modified, True,
                      state.body_gzip if body == "gzip" else state.body)


def _first_state(session: Session, user_id: int, now: datetime) -> FeedState:
    """A stale placeholder, committed before the first render reads anything: from then on
    a change to the follow-ups has a row to mark stale, even during that render."""
    session.add(FeedState(user_id=user_id, etag="", body=b"", last_modified=now,
                          generation=1, rendered_generation=0))
    try:
        session.commit()
    except IntegrityError:  # a concurrent first request made it
        session.rollback()
    state = session.get(FeedState, user_id, populate_existing=True)
    assert state is not None
    return state


def _current(generation: int, rendered: int, expires_at: datetime | None,
             now: datetime) -> bool:
    return generation == rendered and (expires_at is None or now <= expires_at)


def _second(now: datetime) -> datetime:
    return now.replace(microsecond=0)


def _gzip(body: bytes) -> bytes:
    # mtime=0: the same bytes always gzip the same, like their tag.
    return gzip.compress(body, compresslevel=9, mtime=0)


def _events(session: Session, settings: Settings, user: User) -> list[FeedEvent]:
    rows = session.scalars(select(FollowUp).where(FollowUp.user_id == user.id)
                           .options(joinedload(FollowUp.deal)))
    return [
        FeedEvent(
            uid=row.uid, summary=row.summary, start=row.start, end=row.end,
            channel=row.channel, note=row.note, status=row.status, sequence=row.sequence,
            changed_at=row.changed_at, cancelled_at=row.cancelled_at,
            deal_name=row.deal.name, deal_url=deal_url(settings, row.deal_id),
            answer_url=answer_url(settings, row), kind=row.kind, promise_due=row.promise_due,
            value_note=row.value_note, delivered_at=row.delivered_at,
        )
        for row in rows
    ]

"""The feed is rendered once per change: every kind of change to what it shows marks it stale in
its own transaction, a 304 is one lookup that neither renders nor reads the body, a full request
is served from the stored bytes, gzip included, and a cancelled entry's 30 days end its bytes."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from calsync.db import get_db
from calsync.domain.vocabulary import WriteStatus
from calsync.feed import cache
from calsync.models import Deal, FeedState, FollowUp, User
from calsync.web.feed_fast_path import FeedFastPath
from tests.feed_rows import northwind_feed

START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


@dataclass
class Renders:
    """Counts calls of the real render_feed that the cache calls."""

    count: int = 0


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Renders:
    counter = Renders()
    real = cache.render_feed

    def counted(*args: Any, **kwargs: Any) -> bytes:
        counter.count += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(cache, "render_feed", counted)
    return counter


@pytest.fixture
def feed_path(app: Flask, user: User) -> str:
    return northwind_feed(app, user, [START + timedelta(days=n) for n in range(3)])


@pytest.fixture
def statements(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement the app runs while the test is on: through its engine, and on the
    DBAPI connections the feed's fast path keeps."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        seen.append(sql)

    assert isinstance(app.wsgi_app, FeedFastPath)
    lookup = app.wsgi_app.lookup
    fetch = lookup.fetch

    def fetch_recorded(sql: str, parameters: Any) -> Any:
        seen.append(sql)
        return fetch(sql, parameters)

    monkeypatch.setattr(lookup, "fetch", fetch_recorded)
    with app.app_context():
        engine = get_db().engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def in_session(app: Flask, work: Callable[[Session], object]) -> None:
    with app.app_context(), get_db().session() as session:
        work(session)
        session.commit()


def test_a_304_is_one_lookup_without_render_or_body(
        client: FlaskClient, feed_path: str, renders: Renders, statements: list[str]) -> None:
    first = client.get(feed_path)
    assert first.status_code == 200 and renders.count == 1
    statements.clear()
    by_tag = client.get(feed_path, headers={"If-None-Match": first.headers["ETag"]})
    by_date = client.get(feed_path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert by_tag.status_code == by_date.status_code == 304
    assert renders.count == 1
    assert len(statements) == 2, statements  # one lookup each
    assert all("feed_token" in sql and "body" not in sql for sql in statements), statements


def test_a_full_request_is_served_from_the_cache(
        client: FlaskClient, feed_path: str, renders: Renders, statements: list[str]) -> None:
    first = client.get(feed_path)
    statements.clear()
    again = client.get(feed_path)
    assert renders.count == 1
    # The validators' lookup, then the stored bytes, which the web process then keeps by
    # their tag (calsync.web.feed_fast_path): later polls are the one lookup.
    assert ["body" in sql for sql in statements] == [False, True], statements
    statements.clear()
    kept = client.get(feed_path)
    assert len(statements) == 1 and "body" not in statements[0]
    assert again.data == kept.data == first.data
    assert again.headers["ETag"] == kept.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]


def _edit(session: Session) -> None:
    followup = session.scalars(select(FollowUp).where(FollowUp.uid == "f0@calsync")).one()
    followup.summary = "Send the revised pricing"


def _bulk_update(session: Session) -> None:
    session.execute(update(FollowUp).where(FollowUp.uid == "f0@calsync")
                    .values(summary="Send the revised pricing"))


def _bulk_update_by_id(session: Session) -> None:
    followup_id = session.scalar(select(FollowUp.id).where(FollowUp.uid == "f0@calsync"))
    session.execute(update(FollowUp), [{"id": followup_id, "summary": "Send the revised pricing"}])


def _delete(session: Session) -> None:
    session.delete(session.scalars(select(FollowUp).where(FollowUp.uid == "f1@calsync")).one())


def _bulk_delete(session: Session) -> None:
    session.execute(delete(FollowUp).where(FollowUp.uid == "f1@calsync"))


def _add(session: Session) -> None:
    deal = session.scalars(select(Deal)).one()
    session.add(FollowUp(user_id=deal.user_id, deal_id=deal.id, uid="new@calsync",
                         summary="Call back", start=START,
                         end=START + timedelta(minutes=15), channel="call"))


def _zone(session: Session) -> None:
    user = session.scalars(select(User)).one()
    user.timezone = "America/New_York"


def _email(session: Session) -> None:
    user = session.scalars(select(User)).one()
    user.email = "ana.new@acme-sales.com"


def _deal_name(session: Session) -> None:
    deal = session.scalars(select(Deal)).one()
    deal.name = "Northwind Traders"


@pytest.mark.parametrize(("change", "shows"), [
    (_edit, b"revised pricing"), (_bulk_update, b"revised pricing"),
    (_bulk_update_by_id, b"revised pricing"), (_delete, None), (_bulk_delete, None),
    (_add, b"Call back"), (_zone, b"X-WR-TIMEZONE:America/New_York"),
    (_email, b"ana.new@acme-sales.com"), (_deal_name, b"Northwind Traders"),
])
def test_each_kind_of_change_makes_the_next_request_render_once(
        app: Flask, client: FlaskClient, feed_path: str, renders: Renders,
        change: Callable[[Session], None], shows: bytes | None) -> None:
    first = client.get(feed_path)
    in_session(app, change)
    second = client.get(feed_path, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and renders.count == 2
    if shows is None:
        assert b"f1@calsync" in first.data and b"f1@calsync" not in second.data
    else:
        assert shows not in first.data and shows in second.data
    assert second.headers["ETag"] != first.headers["ETag"]
    client.get(feed_path)
    assert renders.count == 2  # stored again: the next request renders nothing


def test_a_change_marks_the_feed_stale_only_if_it_commits(
        app: Flask, client: FlaskClient, feed_path: str, renders: Renders) -> None:
    client.get(feed_path)
    with app.app_context(), get_db().session() as session:
        _bulk_update(session)
        _edit(session)
        session.flush()
        marked = session.scalar(select(FeedState.generation))
        session.rollback()
        assert marked == session.scalar(select(FeedState.generation)) + 1
    client.get(feed_path)
    assert renders.count == 1


def test_a_change_the_feed_does_not_show_leaves_it_current(
        app: Flask, client: FlaskClient, feed_path: str, renders: Renders) -> None:
    client.get(feed_path)

    def hidden(session: Session) -> None:
        followup = session.scalars(select(FollowUp).where(FollowUp.uid == "f0@calsync")).one()
        followup.write_status = WriteStatus.FAILED
        followup.missed_note = "on holiday"
        user = session.scalars(select(User)).one()
        user.skip_keywords = ["lunch"]

    in_session(app, hidden)
    client.get(feed_path)
    assert renders.count == 1


def test_a_change_during_a_render_leaves_the_feed_stale(
        app: Flask, client: FlaskClient, feed_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = cache.render_feed

    def render_while_someone_edits(*args: Any, **kwargs: Any) -> bytes:
        body = real(*args, **kwargs)
        monkeypatch.setattr(cache, "render_feed", real)
        in_session(app, _edit)  # another unit of work, committed mid-render
        return body

    client.get(feed_path)
    in_session(app, _delete)
    monkeypatch.setattr(cache, "render_feed", render_while_someone_edits)
    rendered = client.get(feed_path)
    assert b"revised pricing" not in rendered.data
    latest = client.get(feed_path, headers={"If-None-Match": rendered.headers["ETag"]})
    assert latest.status_code == 200 and b"revised pricing" in latest.data


def test_gzip_round_trip_with_its_own_tag(client: FlaskClient, feed_path: str,
                                          renders: Renders) -> None:
    plain = client.get(feed_path)
    zipped = client.get(feed_path, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert all("Accept-Encoding" in r.headers["Vary"] for r in (plain, zipped))
    assert gzip.decompress(zipped.data) == plain.data and len(zipped.data) < len(plain.data)
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    refused = client.get(feed_path, headers={"Accept-Encoding": "gzip;q=0"})
    assert refused.data == plain.data and "Content-Encoding" not in refused.headers
    # Either tag revalidates either representation.
    for tag, accept in ((plain.headers["ETag"], "gzip"), (zipped.headers["ETag"], "identity")):
        again = client.get(feed_path, headers={"If-None-Match": tag, "Accept-Encoding": accept})
        assert again.status_code == 304
        assert again.headers["ETag"] == (zipped if accept == "gzip" else plain).headers["ETag"]
    assert renders.count == 1


def test_a_cancelled_entry_ends_the_cache_when_its_30_days_do(
        app: Flask, user: User, feed_path: str, renders: Renders) -> None:
    cancelled = START - timedelta(days=2)

    def cancel(session: Session) -> None:
        followup = session.scalars(select(FollowUp).where(FollowUp.uid == "f2@calsync")).one()
        followup.cancel(cancelled)

    in_session(app, cancel)
    settings = app.extensions["calsync.settings"]
    with app.app_context(), get_db().session() as session:
        owner = session.get(User, user.id)
        assert owner is not None
        kept = cache.current_feed(session, settings, owner, now=START)
        assert b"f2@calsync" in kept.body and kept.expires_at == cancelled + timedelta(days=30)
        etag = kept.etag
        last_day = cache.current_feed(session, settings, owner, now=kept.expires_at)
        assert renders.count == 1 and last_day.etag == etag
        after = kept.expires_at + timedelta(seconds=1)
        found = cache.lookup(session, owner.feed_token, after)
        assert found is not None and not found.current
        dropped = cache.current_feed(session, settings, owner, now=after)
        assert renders.count == 2
        assert b"f2@calsync" not in dropped.body and b"f1@calsync" in dropped.body
        assert dropped.etag != etag and dropped.expires_at is None
        assert dropped.last_modified == after


def test_same_bytes_keep_the_same_validators(
        app: Flask, client: FlaskClient, feed_path: str, renders: Renders) -> None:
    first = client.get(feed_path)

    def touch(session: Session) -> None:  # a change and its undoing: stale, same bytes
        deal = session.scalars(select(Deal)).one()
        deal.name = "Somebody else"
        session.flush()
        deal.name = "Northwind"

    in_session(app, touch)
    again = client.get(feed_path)
    assert renders.count == 2
    assert again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]


def test_a_feed_stored_before_the_cache_is_rendered_once_and_gains_gzip(
        app: Flask, client: FlaskClient, feed_path: str, renders: Renders) -> None:
    first = client.get(feed_path)

    def as_migrated(session: Session) -> None:  # what migration 0013 leaves
        session.execute(update(FeedState).values(body_gzip=None, generation=1,
                                                 rendered_generation=0))

    in_session(app, as_migrated)
    zipped = client.get(feed_path, headers={"Accept-Encoding": "gzip"})
    assert renders.count == 2 and gzip.decompress(zipped.data) == first.data
    assert zipped.headers["Last-Modified"] == first.headers["Last-Modified"]



def _kept(app: Flask) -> cache.ThreadConnections:
    """The connections the feed's fast path keeps, one per thread."""
    assert isinstance(app.wsgi_app, FeedFastPath)
    return app.wsgi_app.lookup.connections


def test_the_fast_path_keeps_its_connection_outside_the_pool(
        app: Flask, client: FlaskClient, feed_path: str) -> None:
    tag = client.get(feed_path).headers["ETag"]
    kept = _kept(app).get()
    assert client.get(feed_path, headers={"If-None-Match": tag}).status_code == 304
    assert _kept(app).get() is kept  # the same one, poll after poll
    with app.app_context():
        assert get_db().engine.pool.checkedout() == 0  # and none the pool counts


def test_a_poll_on_a_broken_connection_is_answered_and_the_next_makes_another(
        app: Flask, client: FlaskClient, feed_path: str) -> None:
    tag = client.get(feed_path).headers["ETag"]
    broken = _kept(app).get()
    broken.close()
    assert client.get(feed_path, headers={"If-None-Match": tag}).status_code == 304  # by Flask
    replaced = _kept(app).get()
    assert replaced is not broken
    assert client.get(feed_path, headers={"If-None-Match": tag}).status_code == 304
    assert _kept(app).get() is replaced


def test_disposing_the_engine_closes_the_kept_connections(
        app: Flask, client: FlaskClient, feed_path: str) -> None:
    tag = client.get(feed_path).headers["ETag"]
    kept = _kept(app).get()
    with app.app_context():
        get_db().dispose()
    with pytest.raises(Exception, match="closed"):
        kept.cursor()
    assert client.get(feed_path, headers={"If-None-Match": tag}).status_code == 304
    assert _kept(app).get() is not kept


def test_a_thread_that_ends_closes_its_connection(app: Flask) -> None:
    made: list[Any] = []
    thread = threading.Thread(target=lambda: made.append(_kept(app).get()))
    thread.start()
    thread.join()
    with pytest.raises(Exception, match="closed"):
        made[0].cursor()

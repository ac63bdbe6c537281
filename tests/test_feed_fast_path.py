"""The feed's fast path answers a current feed's polls in front of Flask exactly as the Flask
view does (200, 304, HEAD, gzip and not, rate-limit headers, security headers), shares the
view's rate-limit count, and leaves 404s, refusals and feeds to render again to Flask."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from flask import Flask, request
from limits import parse
from limits.storage import MemoryStorage
from werkzeug.test import Client, TestResponse

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.feed.cache import current_feed
from calsync.models import FollowUp, User
from calsync.web.feed_fast_path import BodyCache, FeedFastPath
from calsync.web.throttle import SweptMemoryStorage, limiter
from tests import databases
from tests.feed_rows import northwind_feed

LIMIT = 12  # requests a minute per feed in these tests
# Differ between any two responses, however they are made.
PER_RESPONSE = {"X-Request-ID", "X-RateLimit-Remaining", "Retry-After"}


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(replace(settings, rate_limit_feed=f"{LIMIT}/minute,100/hour"))
    yield app
    with app.app_context():
        get_db().dispose()


@pytest.fixture
def flask_requests(app: Flask) -> list[str]:
    """The paths of the requests that reached Flask."""
    seen: list[str] = []

    @app.before_request
    def note() -> None:
        seen.append(request.path)

    return seen


@pytest.fixture
def fast(app: Flask) -> FeedFastPath:
    assert isinstance(app.wsgi_app, FeedFastPath)
    return app.wsgi_app


@pytest.fixture
def feed_path(app: Flask, user: User) -> str:
    path = northwind_feed(app, user, [datetime.now(UTC).replace(microsecond=0)
                                      + timedelta(days=2)])
    with app.app_context(), get_db().session() as session:
        owner = session.get(User, user.id)
        assert owner is not None
        current_feed(session, app.extensions["calsync.settings"], owner)  # rendered: current
    return path


def same_answer(by_fast: TestResponse, by_flask: TestResponse) -> None:
    """Same status, bytes and headers; per-response headers present and sane in both."""
    assert by_fast.status == by_flask.status
    assert by_fast.data == by_flask.data
    assert ({(k, v) for k, v in by_fast.headers.items() if k not in PER_RESPONSE}
            == {(k, v) for k, v in by_flask.headers.items() if k not in PER_RESPONSE})
    for response in (by_fast, by_flask):
        assert len(response.headers["X-Request-ID"]) == 32
        assert 0 <= int(response.headers["Retry-After"]) <= 60


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_current_feed_is_answered_in_front_of_flask_as_flask_answers_it(
        fast: FeedFastPath, feed_path: str, flask_requests: list[str], encoding: str) -> None:
    by_fast, by_flask = Client(fast), Client(fast.flask_app)
    asks = {"Accept-Encoding": encoding}
    first = by_fast.get(feed_path, headers=asks)
    same_answer(first, by_flask.get(feed_path, headers=asks))
    assert first.status_code == 200 and b"Send pricing" in (
        gzip.decompress(first.data) if encoding == "gzip" else first.data)
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["X-RateLimit-Limit"] == str(LIMIT)
    tag, date = first.headers["ETag"], first.headers["Last-Modified"]
    for headers in ({"If-None-Match": tag}, {"If-Modified-Since": date},
                    {"If-None-Match": '"other"', "If-Modified-Since": date}):
        same_answer(by_fast.get(feed_path, headers={**asks, **headers}),
                    by_flask.get(feed_path, headers={**asks, **headers}))
    head = by_fast.head(feed_path, headers=asks)
    same_answer(head, by_flask.head(feed_path, headers=asks))
    assert head.data == b"" and head.headers["Content-Length"] == str(len(first.data))
    assert flask_requests == [feed_path] * 5  # the Flask path's own, none of the fast one's


def test_unknown_tokens_refusals_and_stale_feeds_are_left_to_flask(
        app: Flask, fast: FeedFastPath, feed_path: str, flask_requests: list[str]) -> None:
    by_fast, by_flask = Client(fast), Client(fast.flask_app)
    gone = by_fast.get("/feed/not-a-token.ics")
    same_answer(gone, by_flask.get("/feed/not-a-token.ics"))
    assert gone.status_code == 404 and b"rotated" in gone.data
    # One count for both paths: alternate until the minute's limit refuses either.
    for n in range(LIMIT):
        answered = (by_fast if n % 2 else by_flask).get(feed_path)
        assert answered.status_code == 200
        assert answered.headers["X-RateLimit-Remaining"] == str(LIMIT - 1 - n)
    refused = by_fast.get(feed_path)
    same_answer(refused, by_flask.get(feed_path))
    assert refused.status_code == 429 and b"This feed address" in refused.data
    json = {"Accept": "application/json"}
    same_answer(by_fast.get(feed_path, headers=json), by_flask.get(feed_path, headers=json))
    flask_requests.clear()
    limiter.reset()
    with app.app_context(), get_db().session() as session:
        followup = session.get(FollowUp, 1)
        assert followup is not None
        followup.summary = "Send the revised pricing"
        session.commit()
    assert b"revised pricing" in by_fast.get(feed_path).data  # rendered by Flask
    assert b"revised pricing" in by_fast.get(feed_path).data  # then served in front of it
    assert flask_requests == [feed_path]


@pytest.mark.skipif(not databases.REDIS_URL, reason="set CALSYNC_TEST_REDIS_URL to test Redis")
def test_in_redis_both_paths_of_every_process_share_one_count(
        app: Flask, feed_path: str) -> None:
    shared = replace(app.extensions["calsync.settings"], redis_url=databases.REDIS_URL)
    one, other = create_app(shared), create_app(shared)  # two web processes
    token = feed_path.removeprefix("/feed/").removesuffix(".ics")
    store = redis.Redis.from_url(databases.REDIS_URL)
    try:
        for n in range(LIMIT):
            path = one.wsgi_app if n % 2 else other.wsgi_app.flask_app  # type: ignore[attr-defined]
            assert Client(path).get(feed_path).status_code == 200
        assert store.keys(f"*{token}*"), "no count of this feed in Redis"
        assert Client(one.wsgi_app).get(feed_path).status_code == 429
        assert Client(other.wsgi_app).get(feed_path).status_code == 429
    finally:
        store.delete(*store.keys(f"*{token}*"))
        for each in (one, other):
            with each.app_context():
                get_db().dispose()


def test_the_in_memory_store_starts_no_thread_per_hit() -> None:
    """limits' own memory store starts a 10 ms timer thread on a hit whenever the last one
    has ended; calsync's sweeps at most once a SWEEP_SECONDS."""
    limit = parse("1000/minute")

    def timers(storage: Any) -> int:
        seen = set()
        for n in range(10):
            assert storage.acquire_entry(limit.key_for(f"k{n % 2}"), 1000, 60)
            seen.add(storage.timer)  # kept, so no two are the same object
            time.sleep(0.02)  # the stock timer has run out by the next hit
        return len(seen)

    swept = SweptMemoryStorage()
    swept.SWEEP_SECONDS = 3600
    assert timers(swept) <= 2  # the constructor's and the first hit's
    assert timers(MemoryStorage()) > 2
    assert swept.get_moving_window(limit.key_for("k0"), 1000, 60)[1] == 5  # all counted


def test_kept_bodies_are_the_most_recently_served_within_their_size() -> None:
    kept = BodyCache(max_bytes=10)
    kept.put('"a"', b"aaaa")
    kept.put('"b"', b"bbbb")
    assert kept.get('"a"') == b"aaaa"  # now the most recent
    kept.put('"c"', b"cccc")  # 12 bytes: the least recent goes
    assert kept.get('"b"') is None and kept.get('"a"') == b"aaaa" and kept.get('"c"') == b"cccc"
    kept.put('"d"', b"d" * 11)  # larger than the whole: not kept, nothing dropped for it
    assert kept.get('"d"') is None and kept.get('"a"') == b"aaaa"
    assert kept.size == 8

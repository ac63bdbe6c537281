"""Polls of a current feed answered in front of Flask: one indexed lookup on a pooled connection,
the feed's rate limit, and the stored validators or bytes (kept in memory by their ETag);
every other request goes to Flask.

Calendar apps poll their feed every few minutes, and Flask's per-request work (contexts,
session, login, CSRF, limiter bookkeeping) costs more than the answer. The answer is the Flask
view's (calsync.web.feeds builds both); anything else — an unknown token (404), a feed to
render again, a refusal (429), a database error — is left to the Flask view.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import HTTP_STATUS_CODES

from calsync.config import Settings
from calsync.db import Database
from calsync.feed.cache import CachedFeed, TokenLookup, gzip_etag
from calsync.logs import request_id
from calsync.web.feeds import FeedRequest, feed_headers
from calsync.web.throttle import FeedLimit

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The Flask route /feed/<token>.ics, for tokens as calsync makes them; any other path goes
# to Flask, which answers it as before.
_FEED_PATH = re.compile(r"/feed/([A-Za-z0-9_-]{1,64})\.ics")
# Status lines as werkzeug writes them.
_STATUS_LINES = {code: f"{code} {HTTP_STATUS_CODES[code].upper()}" for code in (200, 304)}

Answer = tuple[int, list[tuple[str, str]], bytes]
# Feed bytes each web process keeps (a 1,000-event feed is about 0.7 MB, 70 kB gzipped).
BODY_CACHE_BYTES = 32 * 1024 * 1024


class FeedFastPath:
    """WSGI middleware around the Flask app's wsgi_app (`flask_app`)."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        self.flask_app: WSGIApplication = app.wsgi_app
        database: Database = app.extensions["calsync.db"]
        self.lookup = TokenLookup(database.engine)
        self.limit = FeedLimit(app, settings)
        self.every_response = _every_response(app)
        self.bodies = BodyCache(BODY_CACHE_BYTES)

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        match = _FEED_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is not None and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            answer = self._answer(match[1], environ)
            if answer is not None:
                status, headers, body = answer
                start_response(_STATUS_LINES[status], headers)
                # werkzeug's rule: a HEAD answer has the headers of a GET, not its bytes.
                return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
        return self.flask_app(environ, start_response)

    def _answer(self, token: str, environ: WSGIEnvironment) -> Answer | None:
        """The status, headers and bytes from the stored feed when it is current and the
        client may have it; None to leave the request to Flask."""
        asked = FeedRequest.from_environ(environ)
        try:
            found = self._found(token, asked)
        except (SQLAlchemyError, self.lookup.errors):
            return None  # the Flask view meets the same error and answers it as it does
        if found is None:
            return None
        unchanged = asked.unchanged(found)
        limit_headers = self.limit.hit(token)
        if limit_headers is None:
            return None
        status = 304 if unchanged else 200
        headers = feed_headers(found, asked, status)
        named = {name.lower() for name, _ in headers}
        # As the app's hooks add them: only where the feed set none (Cache-Control).
        headers += [(name, value) for name, value in self.every_response
                    if name.lower() not in named]
        headers += limit_headers
        # The request id every Flask response echoes.
        headers.append(("X-Request-ID", request_id(environ.get("HTTP_X_REQUEST_ID", ""))))
        return status, headers, found.body if status == 200 and found.body else b""

    def _found(self, token: str, asked: FeedRequest) -> CachedFeed | None:
        """The current feed at this token, with its bytes unless the client holds them;
        None when Flask must answer (no such feed, or one to render again)."""
        now = datetime.now(UTC)
        found = self.lookup(token, now)
        if found is None or not found.current:
            return None
        if asked.unchanged(found):
            return found
        body = self.bodies.get(_tag(found, asked))
        if body is not None:
            return replace(found, body=body)
        found = self.lookup(token, now, body=asked.encoding)
        if found is None or not found.current or found.body is None:
            return None
        self.bodies.put(_tag(found, asked), found.body)
        return found


class BodyCache:
    """Feed bytes by their ETag, the most recently served up to BODY_CACHE_BYTES in all.

    A strong ETag is the hash of its bytes (gzip's tag, of bytes gzipped alike every time),
    so a kept body never goes stale: a changed feed has a new tag, and the old one ages out.
    Reading the bytes from the database costs more than the rest of a poll (a PostgreSQL
    bytea most of all), while the lookup of the validators already says which bytes to send.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.kept: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()  # gunicorn's threads share it

    def get(self, tag: str) -> bytes | None:
        with self.lock:
            body = self.kept.get(tag)
            if body is not None:
                self.kept.move_to_end(tag)
            return body

    def put(self, tag: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self.lock:
            if tag in self.kept:
                return
            self.kept[tag] = body
            self.size += len(body)
            while self.size > self.max_bytes:
                self.size -= len(self.kept.popitem(last=False)[1])


def _tag(found: CachedFeed, asked: FeedRequest) -> str:
    return gzip_etag(found.etag) if asked.encoding == "gzip" else found.etag


def _every_response(app: Flask) -> list[tuple[str, str]]:
    """The headers the app's response hooks add to every response (the security headers),
    read from the app itself so the fast path can't drift from it."""
    bare = app.response_class()
    with app.test_request_context():
        probe = app.process_response(app.response_class())
    return [(name, value) for name, value in probe.headers.items()
            if name not in bare.headers]


def init_app(app: Flask, settings: Settings) -> None:
    """Put the fast path in front of the app: after the hooks and the limiter are set up."""
    # Wrapping wsgi_app is Flask's documented way to add middleware; mypy sees a method.
    app.wsgi_app = FeedFastPath(app, settings)  # type: ignore[method-assign]

"""The secret feed URL: serves a user's follow-ups as ICS, gzipped when the client asks, with
strong ETag and Last-Modified.

Conditional requests by tag or by date get 304 from the stored validators alone: no render,
no body read. A full request is served from the stored bytes while they are current. Polls
of a current feed are answered in front of Flask (calsync.web.feed_fast_path) with the
request reading and the response built here, so both paths answer alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, request
from werkzeug.datastructures import ETags
from werkzeug.http import http_date, parse_accept_header, parse_date, parse_etags

from calsync.db import get_session
from calsync.feed.cache import CachedFeed, Encoding, gzip_etag, lookup, served
from calsync.web import current_settings
from calsync.web.throttle import feed_by_token

bp = Blueprint("feeds", __name__)


@dataclass(frozen=True)
class FeedRequest:
    """What a feed request asks for: an encoding, and the validators of bytes it holds."""

    encoding: Encoding
    if_none_match: ETags
    if_modified_since: datetime | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> FeedRequest:
        # Parsed as werkzeug's Request parses them for the Flask view.
        gzipped = parse_accept_header(environ.get("HTTP_ACCEPT_ENCODING"))["gzip"] > 0
        return cls("gzip" if gzipped else "identity",
                   parse_etags(environ.get("HTTP_IF_NONE_MATCH")),
                   parse_date(environ.get("HTTP_IF_MODIFIED_SINCE")))

    @property
    def conditional(self) -> bool:
        return bool(self.if_none_match) or self.if_modified_since is not None

    def unchanged(self, found: CachedFeed) -> bool:
        """The client holds these bytes, in either encoding (RFC 9110 13.1.2, 13.1.3)."""
        if self.if_none_match:  # beside If-None-Match, If-Modified-Since is ignored (13.2.2)
            return any(self.if_none_match.contains_weak(tag.strip('"'))
                       for tag in (found.etag, gzip_etag(found.etag)))
        since = self.if_modified_since
        return since is not None and found.last_modified <= since


@bp.get("/feed/<token>.ics")
@feed_by_token
def feed(token: str) -> Response:
    session = get_session()
    now = datetime.now(UTC)
    asked = FeedRequest.from_environ(request.environ)
    found = lookup(session, token, now, body=None if asked.conditional else asked.encoding)
    if found is None:
        abort(404, "No feed at this address; it may have been rotated. "
                   "Copy the current address from calsync's settings.")
    if asked.conditional and found.current and asked.unchanged(found):
        return _response(found, asked, status=304)
    found = served(session, current_settings(), found, now, asked.encoding)
    return _response(found, asked, status=304 if asked.unchanged(found) else 200)


def _response(found: CachedFeed, asked: FeedRequest, status: int) -> Response:
    body = found.body if status == 200 else None
    return Response(body or b"", status=status, headers=feed_headers(found, asked, status))


def feed_headers(found: CachedFeed, asked: FeedRequest, status: int) -> list[tuple[str, str]]:
    """The headers of the answer to `asked` from `found` (its bytes needed for a 200), as
    werkzeug sends them, before the ones every response gets (security, request id, rate
    limit). A 304 has no entity headers (werkzeug drops them; RFC 9110 15.4.5 needs none)."""
    gzipped = asked.encoding == "gzip"
    headers = [
        ("ETag", gzip_etag(found.etag) if gzipped else found.etag),
        # Flask's session is looked at on every Flask request (by the login manager), which
        # adds Cookie to Vary; said here too, so the fast path's answers are the same.
        ("Vary", "Accept-Encoding, Cookie"),
        ("Cache-Control", "private, max-age=0, must-revalidate"),
        ("Content-Disposition", 'inline; filename="calsync.ics"'),
    ]
    if status == 200:
        assert found.body is not None
        headers += [("Content-Type", "text/calendar; charset=utf-8"),
                    ("Content-Length", str(len(found.body))),
                    ("Last-Modified", http_date(found.last_modified))]
        if gzipped:
            headers.append(("Content-Encoding", "gzip"))
    return headers

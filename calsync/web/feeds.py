"""The secret feed URL: serves a user's follow-ups as ICS, gzipped when the client asks, with
strong ETag and Last-Modified.

Conditional requests by tag or by date get 304 from the stored validators alone: no render,
no body read. A full request is served from the stored bytes while they are current.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, request
from werkzeug.wrappers import Response as BaseResponse

from calsync.db import get_session
from calsync.feed.cache import CachedFeed, Encoding, gzip_etag, lookup, served
from calsync.web import current_settings
from calsync.web.throttle import feed_by_token

bp = Blueprint("feeds", __name__)


@bp.get("/feed/<token>.ics")
@feed_by_token
def feed(token: str) -> BaseResponse:
    session = get_session()
    now = datetime.now(UTC)
    encoding: Encoding = "gzip" if request.accept_encodings["gzip"] > 0 else "identity"
    conditional = bool(request.if_none_match) or request.if_modified_since is not None
    found = lookup(session, token, now, body=None if conditional else encoding)
    if found is None:
        abort(404, "No feed at this address; it may have been rotated. "
                   "Copy the current address from calsync's settings.")
    if conditional and found.current and _unchanged(found):
        return _response(found, encoding, status=304)
    found = served(session, current_settings(), found, now, encoding)
    if conditional and _unchanged(found):
        return _response(found, encoding, status=304)
    return _response(found, encoding, status=200)


def _unchanged(found: CachedFeed) -> bool:
    """The client holds these bytes, in either encoding (RFC 9110 13.1.2, 13.1.3)."""
    tags = request.if_none_match
    if tags:  # beside If-None-Match, If-Modified-Since is ignored (RFC 9110 13.2.2)
        return any(tags.contains_weak(tag.strip('"'))
                   for tag in (found.etag, gzip_etag(found.etag)))
    since = request.if_modified_since
    return since is not None and found.last_modified <= since


def _response(found: CachedFeed, encoding: Encoding, status: int) -> BaseResponse:
    gzipped = encoding == "gzip"
    body = found.body if status == 200 else None
    # "; charset=utf-8" is added to the mimetype.
    response = Response(body or b"", status=status, mimetype="text/calendar")
    response.set_etag((gzip_etag(found.etag) if gzipped else found.etag).strip('"'))
    response.last_modified = found.last_modified
    response.vary.add("Accept-Encoding")
    if gzipped and status == 200:
        response.content_encoding = "gzip"
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    response.headers["Content-Disposition"] = 'inline; filename="calsync.ics"'
    return response

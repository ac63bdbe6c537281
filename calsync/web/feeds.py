"""The secret feed URL: serves a user's follow-ups as ICS with strong ETag and Last-Modified.

Conditional requests by tag or by date get 304 when the bytes have not changed.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from werkzeug.wrappers import Response as BaseResponse

from calsync.db import get_session
from calsync.feed.cache import current_feed, user_by_feed_token
from calsync.web import current_settings
from calsync.web.throttle import feed_by_token

bp = Blueprint("feeds", __name__)


@bp.get("/feed/<token>.ics")
@feed_by_token
def feed(token: str) -> BaseResponse:
    session = get_session()
    user = user_by_feed_token(session, token)
    if user is None:
        abort(404, "No feed at this address; it may have been rotated. "
                   "Copy the current address from calsync's settings.")
    state = current_feed(session, current_settings(), user)
    response = Response(state.body, mimetype="text/calendar")  # "; charset=utf-8" added
    response.set_etag(state.etag.strip('"'))
    response.last_modified = state.last_modified
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    response.headers["Content-Disposition"] = 'inline; filename="calsync.ics"'
    return response.make_conditional(request)

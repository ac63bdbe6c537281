"""Who the token belongs to, and the user's feed: its secret URLs and their rotation."""

from __future__ import annotations

from calsync.db import get_session
from calsync.feed import cache
from calsync.services import accounts
from calsync.web import current_settings
from calsync.web.api.registry import api_user, route
from calsync.web.api.schemas import FeedOut, MeOut


@route("/me", "GET", response=MeOut)
def me() -> MeOut:
    """The user the token belongs to; `timezone` is how times without an offset are read."""
    user = api_user()
    return MeOut(id=user.id, email=user.email, timezone=user.timezone)


@route("/feed", "GET", response=FeedOut)
def feed() -> FeedOut:
    """The secret address of your follow-up feed, to subscribe to in a calendar app."""
    return _feed_urls()


@route("/feed/rotate", "POST", response=FeedOut)
def rotate_feed() -> FeedOut:
    """Give the feed a new secret address; the old one stops working at once."""
    accounts.rotate_feed_token(get_session(), api_user())
    return _feed_urls()


def _feed_urls() -> FeedOut:
    settings, user = current_settings(), api_user()
    return FeedOut(url=cache.feed_url(settings, user),
                   webcal_url=cache.webcal_url(settings, user))

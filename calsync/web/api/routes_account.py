"""Who the token belongs to, the user's feed (its secret URLs and their rotation) and how
calsync emails them."""

from __future__ import annotations

from calsync.db import get_session
from calsync.feed import cache
from calsync.services import accounts, notifications
from calsync.web import current_settings
from calsync.web.api.bodies import NotificationsIn
from calsync.web.api.registry import api_user, route
from calsync.web.api.schemas import FeedOut, MeOut, NotificationsOut


@route("/me", "GET", response=MeOut)
def me() -> MeOut:
    """The user the token belongs to; `timezone` is how times without an offset are read."""
    user = api_user()
    return MeOut(id=user.id, email=user.email, timezone=user.timezone)


@route("/me/notifications", "GET", response=NotificationsOut)
def get_notifications() -> NotificationsOut:
    """How and when calsync emails you: prompts, quiet hours, the daily coach."""
    return _notifications_out(notifications.choices(api_user()))


@route("/me/notifications", "PATCH", response=NotificationsOut, body=NotificationsIn)
def update_notifications(body: NotificationsIn) -> NotificationsOut:
    """Change any of your notification choices; the fields left out keep their values.

    Hours and times are in your time zone (see GET /api/v1/me); quiet hours may span
    midnight (20:00 to 07:00) but must not start and end at the same time.
    """
    changes = notifications.Changes(**body.model_dump())
    return _notifications_out(notifications.change(get_session(), api_user(), changes))


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


def _notifications_out(chosen: notifications.Choices) -> NotificationsOut:
    return NotificationsOut(
        email_prompts=chosen.email_prompts, summary_hour=chosen.summary_hour,
        quiet_start=notifications.clock(chosen.quiet_start),
        quiet_end=notifications.clock(chosen.quiet_end),
        digest=chosen.digest, digest_hour=chosen.digest_hour)

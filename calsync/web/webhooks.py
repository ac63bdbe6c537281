"""Google's push notifications: a calendar a source reads has changed, so sync it soon.

Google sends no CSRF token and no cookie; the channel's secret token authenticates it, and
its message number (growing per channel) makes a replay harmless. Whatever arrives, the
answer is a quick 200 (Google counts other codes as failures), except when calsync itself
is down: then 503, and Google retries with backoff.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, request
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from calsync.db import get_session
from calsync.jobs import queue
from calsync.models import PushChannel, Source
from calsync.services.google import channels

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

# A requested sync that never started (its job was lost) stops holding back new ones after this.
REQUEST_STALE = timedelta(minutes=10)
MAX_HEADER = 255
MAX_DIGITS = 18  # the column is a signed 64-bit integer


@bp.post(channels.WEBHOOK_PATH)
def google() -> Response:
    channel_id = _header("X-Goog-Channel-ID")
    session = get_session()
    try:
        # A stopped or expired channel is not found: Google may call it until its stop (an
        # outbox entry, retried) takes, and each call is answered, never acted on.
        channel = channels.find_channel(session, channel_id) if channel_id else None
        if channel is None:
            return _ok()
        if not _authentic(channel):
            log.warning("push notification for channel %s with a wrong token or resource",
                        channel.id)
            return _ok()
        number = _message_number()
        if number is None or not channels.accept_message(session, channel, number):
            session.rollback()
            log.info("push notification for channel %s ignored: message number %s is "
                     "missing or not newer than the last one", channel.id, number)
            return _ok()
        if _header("X-Goog-Resource-State") == "exists":
            _request_sync(session, channel.source_id)  # commits the message number too
        else:  # "sync" is the handshake after watch; "not_exists" never applies
            session.commit()
        return _ok()
    except Exception:
        session.rollback()
        log.exception("push notification for channel %r failed", channel_id)
        return Response(status=503)


def _header(name: str) -> str:
    """A header as plain ASCII text, or empty: garbage is treated as absent."""
    value = request.headers.get(name, "")
    return value if len(value) <= MAX_HEADER and value.isascii() else ""


def _authentic(channel: PushChannel) -> bool:
    """The channel's secret token, and its resource once the watch call has told us it (the
    handshake may arrive before)."""
    token_ok = hmac.compare_digest(channel.token.encode(),
                                   _header("X-Goog-Channel-Token").encode())
    resource = _header("X-Goog-Resource-ID")
    return token_ok and channel.resource_id in (None, resource)


def _message_number() -> int | None:
    """X-Goog-Message-Number: 1 for the handshake, then growing (not by one) per channel."""
    value = _header("X-Goog-Message-Number")
    return int(value) if value.isdigit() and len(value) <= MAX_DIGITS else None


def _ok() -> Response:
    return Response(status=200)


def _request_sync(session: Session, source_id: int) -> None:
    """Queue one sync, unless one is already asked for: a burst of notifications
    coalesces into the sync that starts next (it clears the flag when it starts)."""
    now = datetime.now(UTC)
    claimed = session.execute(
        update(Source)
        .where(Source.id == source_id, Source.status.not_in(("disabled", "needs_reconnect")),
               or_(Source.sync_requested_at.is_(None),
                   Source.sync_requested_at < now - REQUEST_STALE))
        .values(sync_requested_at=now)).rowcount
    session.commit()
    if claimed:
        queue.enqueue("sync_source", source_id)

"""Google's push notifications: a calendar a source reads has changed, so sync it soon.

Google sends no CSRF token and no cookie; the channel's secret token authenticates it, and
its message number (growing per channel) makes a replay harmless. Whatever arrives, the
answer is a quick 200 (Google counts other codes as failures), except when calsync itself
is down: then 503, and Google retries with backoff.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from calsync.db import get_session
from calsync.services.google import channels

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

MAX_HEADER = 255
MAX_DIGITS = 18  # the column is a signed 64-bit integer


@bp.post(channels.WEBHOOK_PATH)
def google() -> Response:
    notification = channels.Notification(
        channel_id=_header("X-Goog-Channel-ID"), token=_header("X-Goog-Channel-Token"),
        resource_id=_header("X-Goog-Resource-ID"), message_number=_message_number(),
        state=_header("X-Goog-Resource-State"))
    try:
        channels.receive_notification(get_session(), notification)
    except Exception:
        log.exception("push notification for channel %r failed", notification.channel_id)
        return Response(status=503)
    return Response(status=200)


def _header(name: str) -> str:
    """A header as plain ASCII text, or empty: garbage is treated as absent."""
    value = request.headers.get(name, "")
    return value if len(value) <= MAX_HEADER and value.isascii() else ""


def _message_number() -> int | None:
    """X-Goog-Message-Number: 1 for the handshake, then growing (not by one) per channel."""
    value = _header("X-Goog-Message-Number")
    return int(value) if value.isdigit() and len(value) <= MAX_DIGITS else None

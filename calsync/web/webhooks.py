"""Google's push notifications: a calendar a source reads has changed, so sync it soon.

Google sends no CSRF token and no cookie; the channel's secret token authenticates it.
Whatever arrives, the answer is a quick 200 (Google stops channels that keep failing),
except when calsync itself is down: then 503, and Google retries with backoff.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, request
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from calsync import channels, tasks
from calsync.db import get_session
from calsync.models import PushChannel, Source
from calsync.outbox import record

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

# A requested sync that never started (its job was lost) stops holding back new ones after this.
REQUEST_STALE = timedelta(minutes=10)
MAX_HEADER = 255


@bp.post(channels.WEBHOOK_PATH)
def google() -> Response:
    channel_id = _header("X-Goog-Channel-ID")
    token = _header("X-Goog-Channel-Token")
    state = _header("X-Goog-Resource-State")
    session = get_session()
    try:
        channel = channels.find_channel(session, channel_id) if channel_id else None
        if channel is None:
            _stop_stale(session, channel_id, _header("X-Goog-Resource-ID"))
            return _ok()
        if not hmac.compare_digest(channel.token.encode(), token.encode()):
            # Not from Google: whoever sent it must not be able to stop the real channel.
            log.warning("push notification for channel %s with a wrong token", channel.id)
            return _ok()
        if state == "exists":
            _request_sync(session, channel.source_id)
        return _ok()  # "sync" is the handshake after watch; "not_exists" never applies
    except Exception:
        session.rollback()
        log.exception("push notification for channel %r failed", channel_id)
        return Response(status=503)


def _header(name: str) -> str:
    """A header as plain ASCII text, or empty: garbage is treated as absent."""
    value = request.headers.get(name, "")
    return value if len(value) <= MAX_HEADER and value.isascii() else ""


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
        tasks.enqueue("sync_source", source_id)


def _stop_stale(session: Session, channel_id: str, resource_id: str) -> None:
    """Google still calls a channel calsync stopped (the stop failed or is pending): ask
    again. A channel calsync never made cannot be stopped (no grant to stop it with); it
    expires by itself."""
    if not channel_id or not resource_id:
        return
    stopped = session.scalar(select(PushChannel).where(PushChannel.channel_id == channel_id))
    if stopped is None or stopped.resource_id != resource_id:
        return
    source = session.get(Source, stopped.source_id)
    if source is None or not source.credentials:
        return
    # The payload is the one channels' stop handler reads.
    record(session, user_id=source.user_id, kind=channels.STOP, payload={
        "channel_id": channel_id, "resource_id": resource_id, "source_id": source.id,
        "kind": source.kind, "credentials": source.credentials})
    session.commit()

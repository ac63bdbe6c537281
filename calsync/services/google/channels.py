"""Push channels: Google calls calsync's webhook when a calendar read by a source changes,
and the source is synced soon.

One channel per calendar read. Rows are stored before the watch call (Google's `sync`
handshake can arrive first), renewed before they expire, and stopped through the outbox.
Polling stays the fallback whenever a channel cannot be opened. Opening and renewing call
Google, so they commit as jobs do (see `calsync.jobs`): the row before the call, the
result after it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.db import rows_changed
from calsync.domain.vocabulary import PAUSED, SourceStatus
from calsync.errors import CalsyncError, PluginError, SourceError
from calsync.jobs import queue
from calsync.jobs.outbox import record
from calsync.models import OutboxEntry, PushChannel, Source
from calsync.providers.base import PushChannelSpec
from calsync.services.credentials import provider_for

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/google"
STOP = "stop_channel"
RENEW_WITHIN = timedelta(hours=1)
# A row whose watch call never reported back (a crash mid-call) is given up after this.
PENDING_GRACE = timedelta(minutes=10)
FORGET_AFTER = timedelta(days=1)  # past expiry: Google has long stopped calling
# A requested sync that never started (its job was lost) stops holding back new ones after this.
REQUEST_STALE = timedelta(minutes=10)


# Each kind that pushes: where its notifications arrive, and whether push is on (Google and
# Microsoft Graph call only https addresses). Microsoft's subscriptions are channels too.
PUSHES: dict[str, tuple[str, Callable[[Settings], bool]]] = {
    "google": (WEBHOOK_PATH, lambda settings: settings.google_push),
    "microsoft": ("/webhooks/microsoft", lambda settings: settings.microsoft_push),
}


def webhook_address(settings: Settings, kind: str = "google") -> str:
    return settings.base_url.rstrip("/") + PUSHES[kind][0]


def _pushes(settings: Settings, source: Source) -> bool:
    push = PUSHES.get(source.kind)
    if push is None or not push[1](settings) or source.status.paused:
        return False
    try:
        return providers.load(source.kind).supports_push
    except PluginError:
        return False


def _live(channel: PushChannel, now: datetime) -> bool:
    if channel.stopped_at is not None:
        return False
    if channel.resource_id is None:  # the watch call may still be on its way
        return channel.created_at is not None and channel.created_at > now - PENDING_GRACE
    return channel.expires_at is None or channel.expires_at > now


def open_channels(session: Session, settings: Settings, source: Source) -> None:
    """Open a channel for each calendar `source` reads that has none. Commits.

    A calendar whose channel cannot be opened gets a warning on the source and is polled.
    """
    if not _pushes(settings, source):
        return
    now = datetime.now(UTC)
    rows = session.scalars(select(PushChannel).where(PushChannel.source_id == source.id))
    watched = {row.calendar_id for row in rows if _live(row, now)}
    for calendar_id in (source.options or {}).get("calendars_read") or []:
        if calendar_id not in watched:
            _open(session, settings, source, str(calendar_id))


def _open(session: Session, settings: Settings, source: Source,
          calendar_id: str) -> PushChannel | None:
    row = PushChannel(source_id=source.id, calendar_id=calendar_id, channel_id=uuid.uuid4().hex,
                      token=secrets.token_urlsafe(32), created_at=datetime.now(UTC))
    session.add(row)
    session.commit()  # before the call: the handshake may reach the webhook before it returns
    spec = PushChannelSpec(calendar_id, row.channel_id, row.token,
                           webhook_address(settings, source.kind))
    kept: PushChannel | None = row
    with provider_for(settings, source) as (provider, ref):
        try:
            opened = provider.open_channel(ref, spec)
        except CalsyncError as exc:
            session.delete(row)
            kept = None
            names = (source.options or {}).get("calendar_names") or {}
            _push_warning(source, calendar_id, (
                f"calsync could not ask to be told of changes to "
                f"“{names.get(calendar_id, calendar_id)}” ({exc.message}); "
                "it checks that calendar on a schedule instead."))
        else:
            row.resource_id, row.expires_at = opened.resource_id, opened.expires_at
            _push_warning(source, calendar_id, None)
    session.commit()  # the channel or the warning, and the tokens the provider refreshed
    return kept


@dataclass(frozen=True)
class Notification:
    """What a push notification's headers say; the webhook reads garbage as absent ("")."""

    channel_id: str
    token: str
    resource_id: str
    message_number: int | None  # 1 for the handshake, then growing (not by one) per channel
    state: str  # "sync" (the handshake after watch), "exists" (a change), "not_exists"


def receive_notification(session: Session, notification: Notification) -> None:
    """Queue a sync of the source the notification's channel watches. Commits.

    Dropped without a word to Google: a channel stopped, expired or never calsync's, a
    wrong token or resource, a message not newer than the last one accepted.
    """
    # A stopped or expired channel is not found: Google may call it until its stop (an
    # outbox entry, retried) takes, and each call is answered, never acted on.
    channel = find_channel(session, notification.channel_id) if notification.channel_id else None
    if channel is None:
        return
    if not _authentic(channel, notification):
        log.warning("push notification for channel %s with a wrong token or resource",
                    channel.id)
        return
    number = notification.message_number
    if number is None or not _accept_message(session, channel, number):
        session.rollback()
        log.info("push notification for channel %s ignored: message number %s is missing "
                 "or not newer than the last one", channel.id, number)
        return
    if notification.state == "exists":
        request_sync(session, channel.source_id)  # commits the message number too
    else:  # "sync" is the handshake after watch; "not_exists" never applies
        session.commit()


def _authentic(channel: PushChannel, notification: Notification) -> bool:
    """The channel's secret token, and its resource once the watch call has told us it (the
    handshake may arrive before)."""
    token_ok = hmac.compare_digest(channel.token.encode(), notification.token.encode())
    return token_ok and channel.resource_id in (None, notification.resource_id)


def request_sync(session: Session, source_id: int) -> None:
    """Queue one sync, unless one is already asked for: a burst of notifications
    coalesces into the sync that starts next (it clears the flag when it starts)."""
    now = datetime.now(UTC)
    claimed = rows_changed(session.execute(
        update(Source)
        .where(Source.id == source_id, Source.status.not_in(PAUSED),
               or_(Source.sync_requested_at.is_(None),
                   Source.sync_requested_at < now - REQUEST_STALE))
        .values(sync_requested_at=now)))
    session.commit()
    if claimed:
        queue.enqueue("sync_source", source_id)


def find_channel(session: Session, channel_id: str) -> PushChannel | None:
    """The channel a notification names, unless it was stopped, has expired (or never was
    calsync's).

    The caller still compares the notification's token with `channel.token`.
    """
    return session.scalar(select(PushChannel).where(
        PushChannel.channel_id == channel_id, PushChannel.stopped_at.is_(None),
        or_(PushChannel.expires_at.is_(None), PushChannel.expires_at > datetime.now(UTC))))


def _accept_message(session: Session, channel: PushChannel, number: int) -> bool:
    """Record `number` as the channel's latest message, in the caller's transaction; False
    when it is not newer than the last one accepted (a replay, or a retry of one handled).

    One conditional update, so two copies of a message racing each other pass once. An
    older message arriving late is dropped too: the sync the newer one asked for reads its
    change as well.
    """
    return bool(rows_changed(session.execute(
        update(PushChannel)
        .where(PushChannel.id == channel.id,
               or_(PushChannel.last_message_number.is_(None),
                   PushChannel.last_message_number < number))
        .values(last_message_number=number))))


def renew_due(session: Session, settings: Settings, now: datetime) -> None:
    """Replace channels that expire within the hour (new one first, then stop the old),
    stop those no longer wanted, and forget long-expired rows. Commits."""
    # A stopped row is kept until the channel would have expired anyway, so the webhook
    # can still recognise (and stop again) a channel whose stop did not take.
    session.execute(delete(PushChannel).where(or_(
        PushChannel.expires_at < now - FORGET_AFTER,
        PushChannel.resource_id.is_(None) & (PushChannel.created_at < now - PENDING_GRACE))))
    session.commit()
    due = list(session.scalars(select(PushChannel).where(
        PushChannel.stopped_at.is_(None), PushChannel.resource_id.is_not(None),
        PushChannel.expires_at <= now + RENEW_WITHIN)))
    for old in due:
        source = session.get(Source, old.source_id)
        if source is None:
            continue
        wanted = old.calendar_id in ((source.options or {}).get("calendars_read") or [])
        replace = wanted and _pushes(settings, source)
        if replace and _open(session, settings, source, old.calendar_id) is None:
            continue  # keep the old one while it lasts; the next run tries again
        _stop_later(session, source, old, now)
        session.commit()


def stop_channels(session: Session, source: Source) -> None:
    """Stop every channel of `source`. Part of the caller's unit of work: does not commit.

    The stop is an outbox entry that carries what it needs (even once the source is
    deleted), so stop channels before revoking the grant that opened them.
    """
    now = datetime.now(UTC)
    for channel in session.scalars(select(PushChannel).where(
            PushChannel.source_id == source.id, PushChannel.stopped_at.is_(None))):
        _stop_later(session, source, channel, now)


def _stop_later(session: Session, source: Source, channel: PushChannel, now: datetime) -> None:
    channel.stopped_at = now
    if channel.resource_id is None:
        return  # never opened: nothing to stop at Google
    # source_id stays empty: deleting the source must not take the stop with it.
    record(session, user_id=source.user_id, kind=STOP, payload={
        "channel_id": channel.channel_id, "resource_id": channel.resource_id,
        "source_id": source.id, "kind": source.kind, "credentials": source.credentials or ""})


def close_channel(session: Session, settings: Settings, entry: OutboxEntry) -> None:
    """Performs a `stop_channel` entry: ask Google to stop calling about the channel."""
    payload = entry.payload or {}
    source = _grant_holder(session, payload)
    if source is None:
        return  # no grant left to stop it with: Google lets it expire
    try:
        with provider_for(settings, source) as (provider, ref):
            provider.close_channel(ref, payload["channel_id"], payload["resource_id"])
    except SourceError as exc:
        if exc.status is not SourceStatus.NEEDS_RECONNECT:
            raise
        log.info("channel %s not stopped: the grant is gone; it expires by itself",
                 payload["channel_id"])


def _grant_holder(session: Session, payload: dict[str, Any]) -> Source | None:
    """The source whose grant stops the channel: the row while it holds its tokens; once
    it is deleted or disconnected, a stand-in (never added to the session) carrying the
    tokens the entry saved, so what the provider refreshes is dropped with it."""
    source = session.get(Source, payload.get("source_id") or 0)
    if source is not None and source.credentials:
        return source
    if not payload.get("credentials"):
        return None
    return Source(id=int(payload.get("source_id") or 0), kind=str(payload.get("kind") or "google"),
                  url="", options={}, credentials=str(payload["credentials"]))


def _push_warning(source: Source, calendar_id: str, warning: str | None) -> None:
    """Kept apart from the read's warnings, which every sync replaces: this one lasts until
    a channel for the calendar opens."""
    warnings = dict((source.options or {}).get("push_warnings") or {})
    if warning is None and calendar_id not in warnings:
        return
    if warning is None:
        warnings.pop(calendar_id)
    else:
        warnings[calendar_id] = warning
    source.options = {**(source.options or {}), "push_warnings": warnings}

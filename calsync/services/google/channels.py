"""Push channels: Google calls calsync's webhook when a calendar read by a source changes.

One channel per calendar read. Rows are stored before the watch call (Google's `sync`
handshake can arrive first), renewed before they expire, and stopped through the outbox.
Polling stays the fallback whenever a channel cannot be opened.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.errors import CalsyncError, PluginError, SourceError
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
PAUSED = ("disabled", "needs_reconnect")


def webhook_address(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + WEBHOOK_PATH


def _pushes(settings: Settings, source: Source) -> bool:
    if not settings.google_push or source.status in PAUSED:
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
    spec = PushChannelSpec(calendar_id, row.channel_id, row.token, webhook_address(settings))
    kept: PushChannel | None = row
    with provider_for(settings, source) as (provider, ref):
        try:
            opened = provider.open_channel(ref, spec)
        except CalsyncError as exc:
            session.delete(row)
            kept = None
            names = (source.options or {}).get("calendar_names") or {}
            _push_warning(source, calendar_id, (
                f"calsync could not ask Google to report changes to "
                f"“{names.get(calendar_id, calendar_id)}” ({exc.message}); "
                "it checks that calendar on a schedule instead."))
        else:
            row.resource_id, row.expires_at = opened.resource_id, opened.expires_at
            _push_warning(source, calendar_id, None)
    session.commit()  # the channel or the warning, and the tokens the provider refreshed
    return kept


def find_channel(session: Session, channel_id: str) -> PushChannel | None:
    """The channel a notification names, unless it was stopped, has expired (or never was
    calsync's).

    The caller still compares the notification's token with `channel.token`.
    """
    return session.scalar(select(PushChannel).where(
        PushChannel.channel_id == channel_id, PushChannel.stopped_at.is_(None),
        or_(PushChannel.expires_at.is_(None), PushChannel.expires_at > datetime.now(UTC))))


def accept_message(session: Session, channel: PushChannel, number: int) -> bool:
    """Record `number` as the channel's latest message, in the caller's transaction; False
    when it is not newer than the last one accepted (a replay, or a retry of one handled).

    One conditional update, so two copies of a message racing each other pass once. An
    older message arriving late is dropped too: the sync the newer one asked for reads its
    change as well.
    """
    return bool(session.execute(
        update(PushChannel)
        .where(PushChannel.id == channel.id,
               or_(PushChannel.last_message_number.is_(None),
                   PushChannel.last_message_number < number))
        .values(last_message_number=number)).rowcount)


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
    """Stop every channel of `source`, in the caller's transaction (does not commit).

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
        if exc.status != "needs_reconnect":
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

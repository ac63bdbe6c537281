"""Microsoft Graph change notifications: what arrives at calsync's webhook for the
subscriptions (push channels, opened and renewed by `calsync.services.google.channels`)
on the calendars a Microsoft source reads.

A notification counts only for a live subscription of calsync's, with that subscription's
clientState (compared in constant time); a burst becomes one sync. Lifecycle notifications:
`reauthorizationRequired` is answered at once, `subscriptionRemoved` opens a new
subscription, `missed` syncs (a delta read finds whatever was missed). Polling stays the
fallback whenever a subscription cannot be had.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, cast

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.errors import SourceError
from calsync.models import PushChannel, Source
from calsync.providers.base import SourceRef
from calsync.services.credentials import provider_for
from calsync.services.google import channels

log = logging.getLogger(__name__)


class Reauthorizes(Protocol):
    """What the Microsoft provider offers a subscription Graph wants reauthorized."""

    def reauthorize(self, source: SourceRef, subscription_id: str) -> None: ...


@dataclass(frozen=True)
class Notification:
    """One item of what Graph posted; garbage is read as absent ("")."""

    subscription_id: str
    client_state: str
    lifecycle_event: str = ""  # "" for a change notification


def receive(session: Session, settings: Settings, notifications: list[Notification]) -> None:
    """Act on a batch of notifications: each source changed is synced once. Commits."""
    changed: set[int] = set()
    for note in notifications:
        channel = _channel(session, note.subscription_id)
        if channel is None:
            continue  # not calsync's, stopped or expired: answered, never acted on
        if not hmac.compare_digest(channel.token.encode(), note.client_state.encode()):
            log.warning("graph notification for channel %s with a wrong clientState",
                        channel.id)
            continue
        if note.lifecycle_event == "reauthorizationRequired":
            _reauthorize(session, settings, channel)
        elif note.lifecycle_event == "subscriptionRemoved":
            _replace(session, settings, channel)
            changed.add(channel.source_id)  # changes may have gone unreported meanwhile
        else:  # a change, or "missed"
            changed.add(channel.source_id)
    session.commit()
    for source_id in sorted(changed):
        channels.request_sync(session, source_id)


def _channel(session: Session, subscription_id: str) -> PushChannel | None:
    if not subscription_id:
        return None
    return session.scalar(select(PushChannel).where(
        PushChannel.resource_id == subscription_id, PushChannel.stopped_at.is_(None),
        or_(PushChannel.expires_at.is_(None), PushChannel.expires_at > datetime.now(UTC))))


def _reauthorize(session: Session, settings: Settings, channel: PushChannel) -> None:
    source = session.get(Source, channel.source_id)
    if source is None or channel.resource_id is None:
        return
    try:
        with provider_for(settings, source) as (provider, ref):
            cast(Reauthorizes, provider).reauthorize(ref, channel.resource_id)
    except SourceError as exc:
        # The renewal before expiry replaces it; until then polling finds every change.
        log.info("subscription of channel %s not reauthorized: %s", channel.id, exc.reason)


def _replace(session: Session, settings: Settings, channel: PushChannel) -> None:
    """Graph ended the subscription: forget it (there is nothing to stop) and open anew."""
    channel.stopped_at = datetime.now(UTC)
    session.commit()
    source = session.get(Source, channel.source_id)
    if source is not None:
        channels.open_channels(session, settings, source)

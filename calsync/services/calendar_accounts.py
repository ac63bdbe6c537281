"""What a connected account of several calendars (Google's, Microsoft's, CalDAV's) is,
whoever hosts it: its calendar options, the picker's choices, syncing after a change, a
disconnected source, and the new user an account signs up. No Flask here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import ValidationFailed
from calsync.models import Source, User
from calsync.providers.base import BaseProvider, SourceRef
from calsync.services import accounts, sources
from calsync.services.credentials import provider_for
from calsync.services.google import channels
from calsync.services.settings import check_timezone

log = logging.getLogger(__name__)

# The account's calendars as its provider lists them: id, name, primary, writable.
ListCalendars = Callable[[BaseProvider, SourceRef], list[dict[str, Any]]]


def calendar_options(options: dict[str, Any], calendars: list[dict[str, Any]], account: str,
                     default: str) -> dict[str, Any]:
    """A source's options after (re)connecting `account`: the calendars chosen before that
    still exist (else `default`), and the names and writable ones just listed."""
    names = {c["id"]: c["name"] for c in calendars}
    read = [c for c in options.get("calendars_read") or [] if c in names] or [default]
    written = options.get("calendar_written")
    return {**options,
            "account": account,
            "calendars_read": read,
            "calendar_written": written if written in names else default,
            "calendar_names": names,
            "calendars_writable": [c["id"] for c in calendars if c["writable"]]}


def start_syncing(session: Session, settings: Settings, source: Source) -> None:
    """After a connection or a new choice of calendars is committed: watch the calendars
    read (when the kind's push is on; the channels commit themselves) and sync now."""
    try:
        channels.open_channels(session, settings, source)
    except Exception:
        # Polling still finds every change; a channel that failed to open is not fatal.
        session.rollback()
        log.exception("could not open push channels for source %s", source.id)
    sources.queue_sync(session, source)


def choose_calendars(session: Session, settings: Settings, source: Source,
                     read: list[str] | None, written: str | None) -> None:
    """Choose the account's calendars read and written (`sources.choose_calendars`;
    commits). When the calendars read changed, their channels are replaced and a sync reads
    them, as after connecting."""
    if sources.choose_calendars(session, source, read, written) and not source.status.paused:
        channels.stop_channels(session, source)
        session.commit()
        start_syncing(session, settings, source)


def calendar_choices(session: Session, settings: Settings, source: Source,
                     list_calendars: ListCalendars, primary: str) -> list[dict[str, Any]]:
    """The account's calendars (asked of its provider, else as last seen), for the picker;
    `primary` is the option naming the account's own calendar. What the provider says is
    kept for next time (commits then, with the tokens it refreshed)."""
    options = dict(source.options or {})
    # A source paused because a calendar is gone still holds its grant: ask again, so the
    # picker shows what is there now (a disconnected or refused one shows what we know).
    if source.credentials and (not source.status.paused or sources.awaits_calendars(source)):
        try:
            with provider_for(settings, source) as (provider, ref):
                calendars = list_calendars(provider, ref)
        except Exception:  # the provider unreachable or the grant gone: show what we know
            log.warning("could not list calendars of source %s", source.id)
        else:
            options["calendar_names"] = {c["id"]: c["name"] for c in calendars}
            options["calendars_writable"] = [c["id"] for c in calendars if c["writable"]]
            source.options = options
            session.commit()
    names: dict[str, str] = options.get("calendar_names") or {}
    writable = set(options.get("calendars_writable") or names)
    return [{"id": cid, "name": name, "writable": cid in writable,
             "primary": cid == options.get(primary)} for cid, name in names.items()]


def forget_grant(source: Source, why: str) -> None:
    """The source disconnected: no tokens, no syncs, `why` on its page until it is
    connected again. Part of the caller's unit of work."""
    source.credentials = None
    source.status = SourceStatus.DISABLED
    source.next_sync_at = None
    source.sync_requested_at = None
    source.last_error = why


def new_user(session: Session, email: str, timezone: str) -> User:
    """A password-less user signed up by an account, in the sign-in page's time zone (UTC
    when it sent none or one calsync doesn't know). Part of the caller's unit of work."""
    try:
        zone = check_timezone(timezone or "UTC")
    except ValidationFailed:
        zone = "UTC"
    return accounts.add_user(session, email, None, zone)

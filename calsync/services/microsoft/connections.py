"""Microsoft 365 / Outlook connections as sources: connect (and reconnect) from a finished
OAuth grant, sign in with Microsoft, the calendar picker, and disconnect. No Flask here."""

from __future__ import annotations

import logging
from typing import Any, Protocol, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import OAuthFailed, SourceError, ValidationFailed
from calsync.models import Source, User
from calsync.providers.base import SourceRef
from calsync.services import accounts, sources
from calsync.services.credentials import provider_for
from calsync.services.google import channels
from calsync.services.google.oauth import Grant
from calsync.services.settings import check_timezone

log = logging.getLogger(__name__)

KIND = "microsoft"


class ListsCalendars(Protocol):
    """What the Microsoft provider offers the picker."""

    def list_calendars(self, source: SourceRef) -> list[dict[str, Any]]: ...


def connect(session: Session, settings: Settings, user: User,
            grant: Grant) -> tuple[Source, bool]:
    """Create or update the user's source for the grant's Microsoft account; returns it and
    whether it is new. Commits; then call `start_syncing`.

    Raises LimitReached when a new source would be one too many, OAuthFailed when Microsoft
    gave no refresh token or no account, both before changing anything."""
    account = grant.email.lower()
    if not account:
        raise OAuthFailed("Microsoft did not say which account this is.", "Connect again.")
    credentials = dict(grant.credentials)
    if not credentials.get("refresh_token"):  # offline_access always asked: not expected
        raise OAuthFailed("Microsoft gave calsync no lasting access to this account.",
                          "Connect again and allow calsync to keep access.")
    source = sources.account_source(session, settings, user, KIND, account, "account")
    calendars = _list_calendars(settings, credentials)
    options = dict(source.options or {}) if source is not None else {}
    names = {c["id"]: c["name"] for c in calendars}
    default = next((c["id"] for c in calendars if c["primary"]), next(iter(names), ""))
    read = [c for c in options.get("calendars_read") or [] if c in names] or [default]
    written = options.get("calendar_written")
    options.update({
        "account": account,
        "calendars_read": read,
        "calendar_written": written if written in names else default,
        "calendar_names": names,
        "calendars_writable": [c["id"] for c in calendars if c["writable"]],
        "default_calendar": default,
    })
    new = source is None
    source = sources.store_account(session, settings, user, source, KIND,
                                   f"Outlook ({account})", options, credentials)
    session.commit()
    return source, new


def start_syncing(session: Session, settings: Settings, source: Source) -> None:
    """After a connection or a new choice of calendars is committed: subscribe to changes of
    the calendars read (when push is on; the subscriptions commit themselves) and sync now."""
    try:
        channels.open_channels(session, settings, source)
    except Exception:
        # Polling still finds every change; a subscription that failed is not fatal.
        session.rollback()
        log.exception("could not subscribe to changes of source %s", source.id)
    sources.queue_sync(session, source)


def sign_in(session: Session, grant: Grant, timezone: str = "UTC") -> User:
    """The user this Microsoft account signs in: the one with its email, only when
    Microsoft verified the address; else a new password-less account. Raises OAuthFailed
    before changing anything. Commits.

    calsync keeps no Microsoft subject on the user (the schema has Google's only), so the
    verified email decides every time, and an unverified one never signs anyone in.
    """
    if not grant.email:
        raise OAuthFailed("Microsoft did not say who you are.",
                          "Try signing in with Microsoft again.")
    if not grant.email_verified:
        # Anyone may type any address into a work account they administer.
        raise OAuthFailed(
            "Microsoft has not verified this account's email address, so calsync can't sign "
            "you in with it.",
            "Sign in with your password (or sign up), then connect Outlook from Calendars.")
    user = session.scalar(select(User).where(User.email == grant.email.lower()))
    if user is None:
        try:
            zone = check_timezone(timezone or "UTC")
        except ValidationFailed:
            zone = "UTC"
        user = accounts.add_user(session, grant.email, None, zone)
    session.commit()
    return user


def calendar_choices(session: Session, settings: Settings,
                     source: Source) -> list[dict[str, Any]]:
    """The account's calendars (asked of Graph, else as last seen), for the picker; what
    Graph says is kept for next time (commits then)."""
    options = dict(source.options or {})
    if source.credentials and not source.status.paused:
        try:
            with provider_for(settings, source) as (provider, ref):
                calendars = cast(ListsCalendars, provider).list_calendars(ref)
        except SourceError:  # Graph unreachable or the grant gone: show what we know
            log.warning("could not list calendars of source %s", source.id)
        else:
            options["calendar_names"] = {c["id"]: c["name"] for c in calendars}
            options["calendars_writable"] = [c["id"] for c in calendars if c["writable"]]
            source.options = options
            session.commit()  # and the tokens msal refreshed
    names: dict[str, str] = options.get("calendar_names") or {}
    writable = set(options.get("calendars_writable") or names)
    return [{"id": cid, "name": name, "writable": cid in writable,
             "primary": cid == options.get("default_calendar")}
            for cid, name in names.items()]


def choose_calendars(session: Session, settings: Settings, source: Source,
                     read: list[str] | None, written: str | None) -> None:
    """Choose the account's calendars read and written (`sources.choose_calendars`;
    commits). When the calendars read changed, their subscriptions are replaced and a
    sync reads them, as after connecting."""
    if sources.choose_calendars(session, source, read, written) and not source.status.paused:
        channels.stop_channels(session, source)
        session.commit()
        start_syncing(session, settings, source)


def disconnect(session: Session, source: Source) -> None:
    """Stop the subscriptions (through the outbox, with the tokens they need) and forget
    the tokens; meetings, answers and follow-ups stay. Microsoft has no endpoint to revoke
    a grant: the user removes calsync at myapps.microsoft.com (or
    account.live.com/consent/Manage). Commits."""
    channels.stop_channels(session, source)
    source.credentials = None
    source.status = SourceStatus.DISABLED
    source.next_sync_at = None
    source.sync_requested_at = None
    source.last_error = ("Disconnected from Microsoft. Connect again to resume; to remove "
                         "calsync's access entirely, remove it at myapps.microsoft.com.")
    session.commit()


def _list_calendars(settings: Settings, credentials: dict[str, Any]) -> list[dict[str, Any]]:
    """The account's calendars; refreshed tokens land in `credentials`. Connecting fails
    without them: calsync would not know which calendar is the default."""
    provider = cast(ListsCalendars, providers.load(KIND)(settings))
    try:
        return provider.list_calendars(SourceRef(id=0, credentials=credentials))
    except SourceError as exc:
        raise OAuthFailed("calsync could not read this account's calendars: "
                          f"{exc.reason}", "Connect again.") from exc

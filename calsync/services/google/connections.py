"""Google connections as sources: connect (and reconnect) from a finished OAuth grant,
sign in with Google, the calendar picker, and disconnect. No Flask here."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import NeedsConsent, OAuthFailed, ValidationFailed
from calsync.jobs import effects
from calsync.models import OutboxEntry, Source, User
from calsync.providers.base import BaseProvider, SourceRef
from calsync.providers.google import list_calendars
from calsync.services import calendar_accounts, sources
from calsync.services.calendar_accounts import start_syncing
from calsync.services.credentials import unseal_tokens
from calsync.services.google import channels, oauth

__all__ = ["KIND", "calendar_choices", "choose_calendars", "connect", "disconnect",
           "google_sources", "holds_refresh_token", "remove_source", "sign_in",
           "start_syncing"]

log = logging.getLogger(__name__)

KIND = "google"
# Google may hand a role per calendar; follow-ups can only go where the account may write.
WRITABLE_ROLES = ("owner", "writer")


def google_sources(session: Session, user: User) -> list[Source]:
    return list(session.scalars(select(Source).where(
        Source.user_id == user.id, Source.kind == KIND).order_by(Source.id)))


def holds_refresh_token(session: Session, user: User) -> bool:
    """Whether a live connection already holds a refresh token: then Google need not ask for
    consent again (it sends a refresh token only on consent)."""
    return any(s.credentials and not s.status.paused for s in google_sources(session, user))


def connect(session: Session, settings: Settings, user: User,
            grant: oauth.Grant) -> tuple[Source, bool]:
    """Create or update the user's source for the grant's Google account; returns it and
    whether it is new. Commits; then call `start_syncing`.

    Raises NeedsConsent when neither the grant nor the stored source has a refresh token,
    LimitReached when a new source would be one too many; both before changing anything."""
    account = grant.email.lower() or _primary_calendar(settings, dict(grant.credentials))
    source = sources.account_source(session, settings, user, KIND, account, "account")
    credentials = dict(grant.credentials)
    if not credentials.get("refresh_token"):
        # Google sends a refresh token only on first consent: keep the one we hold.
        held = _held_refresh_token(settings, source)
        if not held:
            raise NeedsConsent(account)
        credentials["refresh_token"] = held
    calendars = _list_calendars(settings, credentials, account)
    options = calendar_accounts.calendar_options(
        dict(source.options or {}) if source is not None else {}, calendars, account, account)
    new = source is None
    if source is not None and source.status.paused:
        # Channels opened under the old grant may be dead or dying: start afresh.
        channels.stop_channels(session, source)
    source = sources.store_account(session, settings, user, source, KIND,
                                   f"Google Calendar ({account})", options, credentials)
    _link_identity(session, user, grant)
    session.commit()
    return source, new


def sign_in(session: Session, grant: oauth.Grant, timezone: str = "UTC") -> User:
    """The user this Google account signs in: by its subject, else by email (then linked),
    else a new password-less account. Raises OAuthFailed before changing anything.
    Commits."""
    if not grant.subject or not grant.email:
        raise OAuthFailed("Google did not say who you are.",
                          "Try signing in with Google again.")
    user = session.scalar(select(User).where(User.google_subject == grant.subject))
    if user is None:
        user = session.scalar(select(User).where(User.email == grant.email.lower()))
        if user is not None and not grant.email_verified:
            # Linking by an address Google hasn't verified would let anyone who typed
            # someone's email into a Google account sign in as them.
            raise OAuthFailed(
                "Google has not verified this account's email address, so calsync can't "
                "link it to your existing account.",
                "Sign in with your password, then connect Google Calendar from Calendars.")
        if user is None:
            user = calendar_accounts.new_user(session, grant.email, timezone)
        user.google_subject = grant.subject
    session.commit()
    return user


def _link_identity(session: Session, user: User, grant: oauth.Grant) -> None:
    """The account a user connects can also sign them in, unless it signs in someone else."""
    if user.google_subject or not grant.subject:
        return
    taken = session.scalar(select(User.id).where(User.google_subject == grant.subject))
    if taken is None:
        user.google_subject = grant.subject


def remove_source(session: Session, settings: Settings, source: Source) -> None:
    """Remove any source; a connected Google one is disconnected first (its grant revoked,
    its push channels stopped) while it still names them. Commits: the disconnection on
    its own, then the removal."""
    if source.kind == KIND and source.status is not SourceStatus.DISABLED:
        disconnect(session, settings, source)
    else:  # another kind's push channels (Microsoft's subscriptions) stop from the outbox
        channels.stop_channels(session, source)
    sources.delete_source(session, source)


def calendar_choices(session: Session, settings: Settings,
                     source: Source) -> list[dict[str, Any]]:
    """The account's calendars (asked of Google, else as last seen), for the picker; what
    Google says is kept for next time (commits then)."""

    def fetch(_provider: BaseProvider, ref: SourceRef) -> list[dict[str, Any]]:
        return _fetch_calendars(settings, ref.credentials or {})

    # The primary calendar's id is the account's email.
    return calendar_accounts.calendar_choices(session, settings, source, fetch, "account")


def choose_calendars(session: Session, settings: Settings, source: Source,
                     read: list[str] | None, written: str | None) -> None:
    """Choose the Google account's calendars read and written (`sources.choose_calendars`;
    commits). When the read set changed, the old channels stop (committed), new ones open
    and a sync reads the new calendars, as after connecting."""
    if source.kind != KIND:
        raise ValidationFailed("calendars_read" if read is not None else "calendar_written",
                               "only a Google Calendar source has calendars to choose.")
    calendar_accounts.choose_calendars(session, settings, source, read, written)

def disconnect(session: Session, settings: Settings, source: Source) -> None:
    """Stop watching, revoke the grant and forget the tokens; meetings, answers and
    follow-ups stay. Commits twice: the channel stops first, so the outbox sends them
    while the grant still works, then the disconnection."""
    credentials = unseal_tokens(settings, source) or {}
    channels.stop_channels(session, source)
    stops = [o.id for o in _flushed_outbox(session)]
    session.commit()
    # Stop now, while the grant still works: once revoked, Google would refuse the stop.
    for entry_id in stops:
        effects.process(session, settings, entry_id)
    oauth.revoke(settings, credentials)
    calendar_accounts.forget_grant(source, "Disconnected from Google. Connect again to resume.")
    session.commit()


def _flushed_outbox(session: Session) -> list[OutboxEntry]:
    pending = [o for o in session.new if isinstance(o, OutboxEntry)]
    session.flush()
    return pending


def _held_refresh_token(settings: Settings, source: Source | None) -> str | None:
    """The refresh token the account's source holds; none once it was disconnected (the
    grant is revoked)."""
    if source is None or source.status is SourceStatus.DISABLED:
        return None
    return (unseal_tokens(settings, source) or {}).get("refresh_token")


def _fetch_calendars(settings: Settings, credentials: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for entry in list_calendars(settings, credentials):
        cid = str(entry.get("id") or "")
        if not cid:
            continue
        name = str(entry.get("summaryOverride") or entry.get("summary") or entry.get("name")
                   or cid)
        role = entry.get("accessRole")
        found.append({"id": cid, "name": name, "primary": bool(entry.get("primary")),
                      "writable": not role or role in WRITABLE_ROLES})
    return found


def _primary_calendar(settings: Settings, credentials: dict[str, Any]) -> str:
    """The account's email when Google sent no id_token: its primary calendar's id."""
    try:
        calendars = _fetch_calendars(settings, credentials)
    except Exception as exc:
        raise OAuthFailed("Google did not say which account this is.",
                          "Connect again.") from exc
    primary = next((c["id"] for c in calendars if c["primary"]), "")
    if not primary:
        raise OAuthFailed("Google did not say which account this is.",
                          "Connect again.")
    return primary.lower()


def _list_calendars(settings: Settings, credentials: dict[str, Any],
                    account: str) -> list[dict[str, Any]]:
    """The account's calendars; at least its primary one (whose id is the account's email),
    even when the list cannot be had right now."""
    try:
        calendars = _fetch_calendars(settings, credentials)
    except Exception:  # the picker fills in later; connecting must not fail on this
        log.warning("could not list calendars of %s while connecting", account)
        calendars = []
    if not any(c["id"] == account for c in calendars):
        calendars.insert(0, {"id": account, "name": account, "primary": True, "writable": True})
    return calendars

"""Microsoft 365 / Outlook connections as sources: connect (and reconnect) from a finished
OAuth grant, sign in with Microsoft, the calendar picker, and disconnect. No Flask here."""

from __future__ import annotations

from typing import Any, Protocol, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.errors import OAuthFailed, SourceError
from calsync.models import Source, User
from calsync.providers.base import BaseProvider, SourceRef
from calsync.services import calendar_accounts, sources
from calsync.services.calendar_accounts import choose_calendars, start_syncing
from calsync.services.google import channels
from calsync.services.google.oauth import Grant

__all__ = ["KIND", "calendar_choices", "choose_calendars", "connect", "disconnect",
           "sign_in", "start_syncing"]

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
    default = next((c["id"] for c in calendars if c["primary"]),
                   calendars[0]["id"] if calendars else "")
    options = calendar_accounts.calendar_options(
        dict(source.options or {}) if source is not None else {}, calendars, account, default)
    options["default_calendar"] = default
    new = source is None
    source = sources.store_account(session, settings, user, source, KIND,
                                   f"Outlook ({account})", options, credentials)
    session.commit()
    return source, new


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
        user = calendar_accounts.new_user(session, grant.email, timezone)
    session.commit()
    return user


def calendar_choices(session: Session, settings: Settings,
                     source: Source) -> list[dict[str, Any]]:
    """The account's calendars (asked of Graph, else as last seen), for the picker; what
    Graph says is kept for next time (commits then)."""

    def fetch(provider: BaseProvider, ref: SourceRef) -> list[dict[str, Any]]:
        return cast(ListsCalendars, provider).list_calendars(ref)

    return calendar_accounts.calendar_choices(session, settings, source, fetch,
                                              "default_calendar")


def disconnect(session: Session, source: Source) -> None:
    """Stop the subscriptions (through the outbox, with the tokens they need) and forget
    the tokens; meetings, answers and follow-ups stay. Microsoft has no endpoint to revoke
    a grant: the user removes calsync at myapps.microsoft.com (or
    account.live.com/consent/Manage). Commits."""
    channels.stop_channels(session, source)
    calendar_accounts.forget_grant(source, "Disconnected from Microsoft. Connect again to "
                                   "resume; to remove calsync's access entirely, remove it at "
                                   "myapps.microsoft.com.")
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

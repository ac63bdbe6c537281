"""CalDAV accounts as sources: connect (or reconnect with a new password) from an address,
a user name and a password, and the calendar picker. No Flask here."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import SourceError, ValidationFailed
from calsync.models import Source, User
from calsync.providers.base import SourceRef
from calsync.services import sources

KIND = "caldav"


@runtime_checkable
class ListsCalendars(Protocol):
    """A provider that can say which calendars an account has (the CalDAV provider)."""

    def list_calendars(self, source: SourceRef) -> list[dict[str, Any]]: ...


def connect(session: Session, settings: Settings, user: User, *, url: str, username: str,
            password: str, name: str = "") -> Source:
    """The user's source for this CalDAV account, new or with its password replaced (how a
    source that needs reconnecting is mended). Commits, then queues its first sync.

    The account's calendars are found first; ValidationFailed names `url` (not CalDAV,
    unreachable, a private address), `password` (refused: many servers want an
    app-specific one) or `username`, and nothing is stored.
    """
    url, username = url.strip(), username.strip()
    sources.check_url(url)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ValidationFailed("url", "enter the CalDAV address, starting with https://.")
    if not username:
        raise ValidationFailed("username", "enter the account's user name.")
    if not password:
        raise ValidationFailed("password", "enter the account's (app-specific) password.")
    account = f"{username}@{urlsplit(url).hostname}"
    source = sources.account_source(session, settings, user, KIND, account, "url")
    credentials = {"username": username, "password": password}
    calendars = _calendars(settings, url, credentials)
    names = {c["id"]: c["name"] for c in calendars}
    options = dict(source.options or {}) if source is not None else {}
    read = [c for c in options.get("calendars_read") or [] if c in names] or list(names)
    default = next(c["id"] for c in calendars if c["default"])
    written = options.get("calendar_written")
    options.update({"account": account, "calendars_read": read,
                    "calendar_written": written if written in read else default,
                    "calendar_names": names, "calendars_writable": list(names)})
    shown = name.strip() or (source.name if source is not None else "") or f"CalDAV ({account})"
    source = sources.store_account(session, settings, user, source, KIND, shown, options,
                                   credentials)
    source.url = url
    session.commit()
    return sources.queue_sync(session, source)


def connect_demo(session: Session, settings: Settings, user: User) -> Source:
    """Connect the bundled demo CalDAV server's account (`calsync run` starts it, its
    htpasswd file holds the one user and password), as `connect` does."""
    users = settings.caldav_demo_folder / "users"
    if settings.caldav_demo_address is None or not users.exists():
        raise ValidationFailed("url", "the demo CalDAV server is not running.")
    username, _, password = users.read_text().strip().partition(":")
    return connect(session, settings, user, url=settings.caldav_demo, username=username,
                   password=password, name="Demo CalDAV (Sales)")


def demo_offered(settings: Settings) -> bool:
    """Whether the Calendars page offers the demo CalDAV account."""
    return settings.caldav_demo_address is not None


def _calendars(settings: Settings, url: str, credentials: dict[str, Any]
               ) -> list[dict[str, Any]]:
    provider = providers.load(KIND)(settings)
    assert isinstance(provider, ListsCalendars)  # the registry's caldav is ours
    try:
        return provider.list_calendars(SourceRef(id=0, url=url, credentials=credentials))
    except SourceError as error:
        field = "password" if error.status is SourceStatus.NEEDS_RECONNECT else "url"
        raise ValidationFailed(field, sources.refusal(error)) from error


def written_name(source: Source) -> str:
    """The name of the calendar that receives the source's follow-ups."""
    options = source.options or {}
    written = str(options.get("calendar_written") or "")
    return str((options.get("calendar_names") or {}).get(written) or written)


def choose_calendars(session: Session, settings: Settings, source: Source,
                     read: list[str] | None, written: str | None) -> None:
    """Choose the account's calendars read and written (`sources.choose_calendars`;
    commits), and sync at once when the calendars read changed."""
    if sources.choose_calendars(session, source, read, written) and not source.status.paused:
        sources.queue_sync(session, source)

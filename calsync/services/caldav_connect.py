"""CalDAV accounts as sources: connect (or reconnect with a new password) from an address,
a user name and a password, and the calendar picker. No Flask here."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import SourceError, ValidationFailed
from calsync.models import Source, User
from calsync.providers.base import BaseProvider, SourceRef
from calsync.services import calendar_accounts, sources

KIND = "caldav"
# The option saying whether the user chose the calendars read (the provider reads it): until
# then every calendar the account has is read, those made later too.
CHOSEN = "calendars_chosen"


@runtime_checkable
class FindsAccounts(Protocol):
    """What the CalDAV provider answers besides the contract (providers/caldav.py)."""

    def find_account(self, source: SourceRef) -> dict[str, Any]: ...

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
    credentials = {"username": username, "password": password}
    found = _account(settings, url, credentials)
    principal = str(found["principal"])
    account = account_key(username, principal)
    source = _legacy(session, user, username, principal) or sources.account_source(
        session, settings, user, KIND, account, "url")
    calendars: list[dict[str, Any]] = found["calendars"]
    names = {c["id"]: c["name"] for c in calendars}
    writable = [c["id"] for c in calendars if c["writable"]]
    default = next((c["id"] for c in calendars if c["default"]), "")
    options = dict(source.options or {}) if source is not None else {}
    chosen = bool(options.get(CHOSEN, source is not None))  # see CHOSEN
    read = [c for c in options.get("calendars_read") or [] if c in names and chosen] or list(
        names)
    written = options.get("calendar_written")
    if written not in read or written not in writable:
        written = next((c for c in (default, *read) if c in read and c in writable), default)
        read += [] if written in read else [written]  # follow-ups go to a calendar read
    options.update({"account": account, "calendars_read": read, "calendar_written": written,
                    "calendar_names": names, "calendars_writable": writable,
                    "calendar_default": default, CHOSEN: chosen})
    shown = (name.strip() or (source.name if source is not None else "")
             or f"CalDAV ({username}@{urlsplit(principal).netloc})")
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


def account_key(username: str, principal_url: str) -> str:
    """What makes two connections the same account: the user at the principal discovery
    found, which is one address whether the server, the principal or a calendar was typed
    (and two servers on one host differ by port or path). Shown on the source's page as
    "ana@cloud.example.com/remote.php/dav/principals/ana/"."""
    parts = urlsplit(principal_url)
    return f"{username}@{parts.netloc.lower()}{unquote(parts.path).rstrip('/')}/"


def _legacy(session: Session, user: User, username: str, principal_url: str) -> Source | None:
    """A source connected before accounts were keyed by principal (`user@host`), when it
    was connected to the same host and port."""
    parts = urlsplit(principal_url)
    old = f"{username}@{parts.hostname}"
    return next((row for row in session.scalars(select(Source).where(
        Source.user_id == user.id, Source.kind == KIND).order_by(Source.id))
        if (row.options or {}).get("account") == old
        and urlsplit(row.url).netloc.lower() == parts.netloc.lower()), None)


def _account(settings: Settings, url: str, credentials: dict[str, Any]) -> dict[str, Any]:
    try:
        return _provider(settings).find_account(
            SourceRef(id=0, url=url, credentials=credentials))
    except SourceError as error:
        field = "password" if error.status is SourceStatus.NEEDS_RECONNECT else "url"
        raise ValidationFailed(field, sources.refusal(error)) from error


def _provider(settings: Settings) -> FindsAccounts:
    return _finds_accounts(providers.load(KIND)(settings))


def _finds_accounts(provider: BaseProvider) -> FindsAccounts:
    assert isinstance(provider, FindsAccounts), provider  # the registry's caldav is ours
    return provider


def written_name(source: Source) -> str:
    """The name of the calendar that receives the source's follow-ups."""
    options = source.options or {}
    written = str(options.get("calendar_written") or "")
    return str((options.get("calendar_names") or {}).get(written) or written)


def calendar_choices(session: Session, settings: Settings,
                     source: Source) -> list[dict[str, Any]]:
    """The account's calendars (asked of the server, else as last seen), for the picker;
    what the server says is kept for next time, and read while the user never chose
    (commits then)."""

    def fetch(provider: BaseProvider, ref: SourceRef) -> list[dict[str, Any]]:
        return _finds_accounts(provider).list_calendars(ref)

    choices = calendar_accounts.calendar_choices(session, settings, source, fetch,
                                                 "calendar_default")
    options = dict(source.options or {})
    if not options.get(CHOSEN, True):
        options["calendars_read"] = [c["id"] for c in choices]
        source.options = options
        session.commit()
    return choices


def choose_calendars(session: Session, settings: Settings, source: Source,
                     read: list[str] | None, written: str | None) -> None:
    """Choose the account's calendars read and written (`sources.choose_calendars`;
    commits), and sync at once when the calendars read changed."""
    changed = sources.choose_calendars(session, source, read, written)
    if read is not None:  # from now on exactly these, not every calendar the account has
        source.options = {**(source.options or {}), CHOSEN: True}
        session.commit()
    if changed and not source.status.paused:
        sources.queue_sync(session, source)

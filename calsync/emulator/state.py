"""The emulator's in-memory world: clients, accounts, calendars, events, grants, channels;
and `AuthState`, what the Microsoft emulator's world shares with it (OAuth records, faults).

One re-entrant lock guards all of it. Handlers hold it for a whole read or write, so every
request sees one consistent calendar; requests are short, so contention never matters.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

ACCESS_TOKEN_LIFETIME = 3600
CODE_LIFETIME = 600  # Google's authorization codes are short-lived and single-use
DEFAULT_CHANNEL_TTL = 604_800  # a week: the Calendar API's default channel lifetime


class LoggedRequest(NamedTuple):
    """One request the emulator answered (the query keeps the first value of each key)."""

    method: str
    path: str
    query: dict[str, str]


class DeliveredPush(NamedTuple):
    """One push notification the emulator sent, and what the receiver answered."""

    channel_id: str
    resource_state: str  # "sync" or "exists"
    message_number: int
    address: str
    headers: dict[str, str]
    status: int | None  # the receiver's HTTP status; None when it could not be reached
    error: str = ""


@dataclass
class Client:
    client_id: str
    secret: str
    redirect_uris: frozenset[str] | None  # None: any redirect URI is accepted


@dataclass
class Account:
    email: str
    sub: str  # Google's stable numeric user id
    name: str
    calendar_ids: list[str] = field(default_factory=list)


@dataclass
class Stored:
    """An event as stored: Google's resource plus the change number of its last write."""

    resource: dict[str, Any]
    seq: int

    @property
    def cancelled(self) -> bool:
        return self.resource.get("status") == "cancelled"


@dataclass
class Calendar:
    id: str
    owner: str
    summary: str
    time_zone: str
    primary: bool
    description: str = ""
    events: dict[str, Stored] = field(default_factory=dict)  # tombstones included


@dataclass
class ConsentRecord:
    """What one account has consented to for one client; revoking it kills every token."""

    email: str
    client_id: str
    scopes: set[str] = field(default_factory=set)
    offline: bool = False  # a refresh token was issued at least once
    revoked: bool = False


@dataclass
class Token:
    grant: ConsentRecord
    scopes: frozenset[str]
    expires_at: float  # access tokens only; refresh tokens last until revoked


@dataclass
class AuthCode:
    grant: ConsentRecord
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str
    challenge_method: str
    issue_refresh_token: bool
    nonce: str
    expires_at: float
    used: bool = False


@dataclass
class WatchChannel:
    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    address: str
    token: str
    expiration_ms: int
    message_number: int = 0
    stopped: bool = False

    def live(self) -> bool:
        return not self.stopped and self.expiration_ms > time.time() * 1000


@dataclass
class Fault:
    remaining: int
    status: int
    reason: str
    path_contains: str
    retry_after: int | None = None  # seconds, sent as Retry-After (the Graph emulator's)


@dataclass
class PageCursor:
    """The rest of a listing, frozen at its first page so pages never skip or repeat."""

    calendar_id: str
    items: list[dict[str, Any]]
    as_of: int  # the change number the final page's nextSyncToken will carry


class AuthState:
    """What every emulator knows of OAuth and of a test's controls: clients, grants, codes,
    tokens, the requests answered, armed faults and a delay. Mutate only while holding
    `lock`."""

    refresh_prefix = "1//"  # how the service's refresh tokens start
    refresh_bytes = 40
    api_prefix = "/calendar/"  # the paths a fault with no `path_contains` covers

    def __init__(self, token_lifetime: int) -> None:
        self.lock = threading.RLock()
        self.token_lifetime = token_lifetime
        self.accept_any_client = False
        self.clients: dict[str, Client] = {}
        self.grants: dict[tuple[str, str], ConsentRecord] = {}
        self.codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.delay = 0.0
        self.seq = 0

    def next_seq(self) -> int:
        """The number of a new change; sync and delta tokens remember the last they saw."""
        self.seq += 1
        return self.seq

    def client(self, client_id: str) -> Client | None:
        found = self.clients.get(client_id)
        if found is None and self.accept_any_client and client_id:
            return Client(client_id, "", None)
        return found

    def grant(self, email: str, client_id: str) -> ConsentRecord:
        """The live grant of `email` to `client_id`, a fresh one after a revocation."""
        key = (email, client_id)
        grant = self.grants.get(key)
        if grant is None or grant.revoked:
            grant = self.grants[key] = ConsentRecord(email, client_id)
        return grant

    def consented(self, email: str, client_id: str, requested: set[str]) -> bool:
        """Whether `email` has already granted `client_id` every scope `requested`, so an
        authorization with prompt=none may go ahead without the consent page."""
        grant = self.grants.get((email, client_id))
        return grant is not None and not grant.revoked and requested <= grant.scopes

    def issue_refresh_token(self, grant: ConsentRecord, scopes: frozenset[str]) -> str:
        token = self.refresh_prefix + secrets.token_urlsafe(self.refresh_bytes)
        self.refresh_tokens[token] = Token(grant, scopes, float("inf"))
        grant.offline = True
        return token

    def take_fault(self, path: str) -> Fault | None:
        """The next armed fault for `path`; an empty `path_contains` covers the API only."""
        for fault in self.faults:
            applies = (fault.path_contains in path) if fault.path_contains else (
                path.startswith(self.api_prefix))
            if applies and fault.remaining > 0:
                fault.remaining -= 1
                return fault
        return None

    def admit(self, request: Request) -> Fault | None:
        """A request's first step: logged, held back by the delay asked for (outside the
        lock), and the fault armed for its path returned."""
        with self.lock:
            self.log.append(LoggedRequest(request.method, request.path,
                                          request.args.to_dict()))
            delay, fault = self.delay, self.take_fault(request.path)
        if delay:
            time.sleep(delay)
        return fault


class State(AuthState):
    """Everything the Google emulator knows. Mutate only while holding `lock`."""

    def __init__(self, token_lifetime: int = ACCESS_TOKEN_LIFETIME) -> None:
        super().__init__(token_lifetime)
        self.accounts: dict[str, Account] = {}
        self.calendars: dict[str, Calendar] = {}
        self.sync_tokens: dict[str, tuple[str, int]] = {}
        self.page_tokens: dict[str, PageCursor] = {}
        self.channels: dict[str, WatchChannel] = {}
        self.denied_scopes: set[str] = set()
        # Called with a calendar id after every change to it (the push notifier listens).
        self.listeners: list[Callable[[str], None]] = []
        self._last_micros = 0
        self._subs = itertools.count(104_857_600_000_000_000_001)

    # counters and identifiers

    def new_etag(self) -> str:
        """A quoted number that grows with every write, like Google's event etags."""
        micros = max(int(time.time() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f'"{micros * 2}"'

    def new_sub(self) -> str:
        return str(next(self._subs))

    def issue_sync_token(self, calendar_id: str, seq: int) -> str:
        token = "C" + secrets.token_urlsafe(18)
        self.sync_tokens[token] = (calendar_id, seq)
        return token

    def issue_page_token(self, cursor: PageCursor) -> str:
        token = secrets.token_urlsafe(24)
        self.page_tokens[token] = cursor
        return token

    def changed(self, calendar_id: str) -> None:
        for listener in self.listeners:
            listener(calendar_id)

    # tokens

    def issue_access_token(self, grant: ConsentRecord, scopes: frozenset[str]) -> str:
        token = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[token] = Token(grant, scopes, time.time() + self.token_lifetime)
        return token


def rfc3339(moment: float | datetime | None = None) -> str:
    """A UTC timestamp with milliseconds, as Google writes `updated` and `created`."""
    if moment is None:
        moment = time.time()
    if isinstance(moment, float | int):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z")


def new_event_id() -> str:
    """An id Google would pick: 26 characters of lowercase base32hex."""
    return base64.b32hexencode(uuid.uuid4().bytes).decode().rstrip("=").lower()[:26]


def html_link(event_id: str, calendar_id: str) -> str:
    eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"

"""The Microsoft emulator's in-memory world: accounts, calendars, events, grants, delta
rounds and subscriptions. One re-entrant lock guards all of it, as in the Google emulator;
the OAuth records (clients, grants, codes, tokens, faults) are `AuthState`'s, shared with it."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calsync.emulator.state import (
    AuthCode,
    AuthState,
    Client,
    ConsentRecord,
    Fault,
    LoggedRequest,
    Token,
)

__all__ = ["AuthCode", "Client", "ConsentRecord", "Fault", "LoggedRequest", "Token"]

ACCESS_TOKEN_LIFETIME = 3599  # what the identity platform says in expires_in
CODE_LIFETIME = 600
# Microsoft's fixed tenant id of personal (Outlook.com) accounts.
CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
MAX_SUBSCRIPTION_MINUTES = 10_080  # Outlook event subscriptions: at most 7 days


def graph_id() -> str:
    """An opaque id shaped like Outlook's (base64 of a long binary key)."""
    return "AAMkAD" + base64.urlsafe_b64encode(secrets.token_bytes(36)).decode()


def occurrence_id(master_id: str, original: datetime) -> str:
    """The id of one occurrence of a series: the same every time it is listed."""
    digest = hashlib.sha256(f"{master_id}|{original.isoformat()}".encode()).digest()
    return "AAMkAD" + base64.urlsafe_b64encode(digest + digest[:12]).decode()


@dataclass
class MsAccount:
    email: str
    name: str
    oid: str
    tid: str
    email_verified: bool
    calendar_ids: list[str] = field(default_factory=list)


@dataclass
class StoredEvent:
    """One event as stored. `fields` are what a client wrote (subject, body, attendees…);
    the times, the series and the bookkeeping are kept apart so every view can be rendered
    in the zone the caller prefers."""

    id: str
    calendar_id: str
    fields: dict[str, Any]
    start: datetime
    end: datetime
    start_zone: str  # the zone names the event was written with (originalStartTimeZone)
    end_zone: str
    kind: str  # singleInstance, seriesMaster or exception
    created: datetime
    modified: datetime
    change_key: str
    seq: int
    recurrence: dict[str, Any] | None = None  # a seriesMaster's patternedRecurrence
    rule: str = ""  # ... as an RRULE
    master_id: str = ""  # an exception's series
    original_start: datetime | None = None  # an exception's place in its series
    cancelled: set[datetime] = field(default_factory=set)  # a master's deleted occurrences
    exceptions: dict[datetime, str] = field(default_factory=dict)  # original → exception id
    transaction_id: str | None = None
    extended: dict[str, str] = field(default_factory=dict)  # singleValueExtendedProperties
    deleted: bool = False

    @property
    def etag(self) -> str:
        return f'W/"{self.change_key}"'


@dataclass
class MsCalendar:
    id: str
    owner: str
    name: str
    is_default: bool
    color: str = "auto"
    change_key: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    events: dict[str, StoredEvent] = field(default_factory=dict)  # deleted ones kept


@dataclass
class DeltaRound:
    """What a delta token stands for: a calendar view and what the caller has seen of it."""

    calendar_id: str
    start: datetime
    end: datetime
    seen: dict[str, str]  # item id → its etag when the round completed
    seq: int  # the change number the round saw
    expired: bool = False  # the emulator was told to forget it (410 from then on)


@dataclass
class DeltaPage:
    """The rest of a round behind a skip token, computed at its first page."""

    round: DeltaRound  # what the deltaLink of the last page will stand for
    items: list[dict[str, Any]]


@dataclass
class Subscription:
    id: str
    email: str
    client_id: str
    resource: str
    calendar_id: str
    change_types: frozenset[str]
    notification_url: str
    lifecycle_url: str
    client_state: str
    expires: datetime
    echoed: dict[str, Any]  # properties given at creation that Graph only repeats
    removed: bool = False

    def live(self, now: datetime) -> bool:
        return not self.removed and self.expires > now


class MsState(AuthState):
    """Everything the Microsoft emulator knows. Mutate only while holding `lock`."""

    refresh_prefix = "M.C5"
    refresh_bytes = 60
    api_prefix = "/v1.0/"  # Graph

    def __init__(self, token_lifetime: int = ACCESS_TOKEN_LIFETIME) -> None:
        super().__init__(token_lifetime)
        self.work_tenant = str(uuid.uuid4())
        self.browser_base = ""  # the plain-HTTP front's URL, when the emulator runs one
        self.accounts: dict[str, MsAccount] = {}
        self.calendars: dict[str, MsCalendar] = {}
        self.transactions: dict[tuple[str, str], str] = {}  # (email, transactionId) → event id
        self.occurrences: dict[str, tuple[str, str, datetime]] = {}  # id → calendar, master, orig
        self.delta_tokens: dict[str, DeltaRound] = {}
        self.skip_tokens: dict[str, DeltaPage] = {}
        self.subscriptions: dict[str, Subscription] = {}
        # Told of every write: the calendar, the event id (a series' master) and the change.
        self.listeners: list[Callable[[MsCalendar, StoredEvent, str], None]] = []

    def changed(self, calendar: MsCalendar, event: StoredEvent, change: str) -> None:
        for listener in self.listeners:
            listener(calendar, event, change)

    def account_calendars(self, email: str) -> list[MsCalendar]:
        return [self.calendars[c] for c in self.accounts[email].calendar_ids]

    def default_calendar(self, email: str) -> MsCalendar:
        return next(c for c in self.account_calendars(email) if c.is_default)

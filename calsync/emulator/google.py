"""`GoogleEmulator`: Google Calendar v3 and Google OAuth 2.0 on a loopback port.

    with GoogleEmulator() as google:
        google.add_client("client-1", "secret-1")
        google.add_account("ann@example.com")
        service = googleapiclient.discovery.build(
            "calendar", "v3", credentials=creds, static_discovery=True,
            client_options={"api_endpoint": google.api_endpoint})

Clients: only clients registered with `add_client` may use OAuth, unless the emulator is
built with `accept_any_client=True` (any client id, any secret; `serve_forever` does this).
Webhooks: Google only calls https addresses; the emulator also calls http ones unless built
with `allow_http_webhooks=False`, since tests receive them on plain loopback HTTP.
"""

from __future__ import annotations

import copy
from typing import Any

from calsync.emulator import events as event_ops
from calsync.emulator.calendar_api import CalendarApi
from calsync.emulator.common import OAuthEmulator, serve_until_interrupted
from calsync.emulator.oauth import ConsentHook, OAuth, normalize_scopes
from calsync.emulator.push import Notifier
from calsync.emulator.server import Application
from calsync.emulator.state import (
    ACCESS_TOKEN_LIFETIME,
    Account,
    Calendar,
    DeliveredPush,
    Fault,
    State,
)

DEFAULT_SCOPES = ("https://www.googleapis.com/auth/calendar", "openid", "email")


class GoogleEmulator(OAuthEmulator[State]):
    """A context manager: the server starts on enter and stops on exit."""

    thread_name = "google-emulator"

    def __init__(self, port: int = 0, webhook_verify: bool = True, *,
                 host: str = "127.0.0.1", allow_http_webhooks: bool = True,
                 auto_consent: bool = False, accept_any_client: bool = False,
                 token_lifetime: int = ACCESS_TOKEN_LIFETIME, quiet: bool = True) -> None:
        """`webhook_verify`: check TLS certificates of https webhook receivers.
        `auto_consent`: the consent page approves itself (tests may instead add `auto=1`
        to the authorization URL). `token_lifetime`: seconds an access token lasts."""
        super().__init__(port, host, quiet)
        self.state = State(token_lifetime)
        self.state.accept_any_client = accept_any_client
        self._notifier = Notifier(self.state, verify_tls=webhook_verify)
        self._api = CalendarApi(self.state, self._notifier,
                                allow_http_webhooks=allow_http_webhooks)
        self._auth = OAuth(self.state, auto_consent=auto_consent)
        self._app = Application(self.state, self._api, self._auth)
        self.app = self._app

    # lifecycle

    def _started(self) -> None:
        self._api.api_endpoint = self.api_endpoint
        self._notifier.start()

    def _stopped(self) -> None:
        self._notifier.stop()

    # endpoints

    @property
    def api_endpoint(self) -> str:
        """What to pass as googleapiclient's `client_options["api_endpoint"]`."""
        return f"{self.base_url}/calendar/v3/"

    @property
    def auth_uri(self) -> str:
        return f"{self.base_url}/o/oauth2/auth"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    @property
    def revoke_uri(self) -> str:
        return f"{self.base_url}/revoke"

    @property
    def certs_uri(self) -> str:
        """PEM public keys by key id, for `google.oauth2.id_token.verify_token(certs_url=)`."""
        return f"{self.base_url}/oauth2/v1/certs"

    def client_config(self, client_id: str, client_secret: str,
                      redirect_uris: list[str]) -> dict[str, Any]:
        """A `Flow.from_client_config` config pointing at this emulator."""
        return {"web": {"client_id": client_id, "client_secret": client_secret,
                        "auth_uri": self.auth_uri, "token_uri": self.token_uri,
                        "revoke_uri": self.revoke_uri, "redirect_uris": redirect_uris}}

    # seeding and inspecting

    def add_account(self, email: str, calendars: list[dict[str, Any]] | None = None, *,
                    name: str = "", time_zone: str = "UTC", summary: str = "") -> None:
        """An account with its primary calendar (id = email, named `summary`, by default
        the email as at Google) and optional extra calendars, each a dict with `id` and
        optionally `summary`, `timeZone`, `description`."""
        email = email.lower()
        with self.state.lock:
            account = Account(email, self.state.new_sub(), name or email.split("@")[0].title())
            self.state.accounts[email] = account
            specs = [{"id": email, "summary": summary or email, "timeZone": time_zone},
                     *(calendars or [])]
            for index, spec in enumerate(specs):
                calendar = Calendar(id=spec["id"], owner=email,
                                    summary=spec.get("summary", spec["id"]),
                                    time_zone=spec.get("timeZone", time_zone),
                                    primary=index == 0,
                                    description=spec.get("description", ""))
                self.state.calendars[calendar.id] = calendar
                account.calendar_ids.append(calendar.id)

    def _calendar(self, calendar_id: str) -> Calendar:
        calendar = self.state.calendars.get(calendar_id)
        if calendar is None:
            raise KeyError(f"No calendar {calendar_id!r}; add_account creates calendars.")
        return calendar

    def add_event(self, calendar_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """As if the user created `event` in Google: id, etag, updated assigned; returned."""
        with self.state.lock:
            calendar = self._calendar(calendar_id)
            return event_ops.insert(self.state, calendar, event, trusted=True)

    def update_event(self, calendar_id: str, event_id: str,
                     changes: dict[str, Any]) -> dict[str, Any]:
        """As if the user edited the event in Google (an instance id moves one occurrence)."""
        with self.state.lock:
            calendar = self._calendar(calendar_id)
            return event_ops.update(self.state, calendar, event_id, changes, trusted=True)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """As if the user deleted it in Google: a tombstone for sync, channels notified."""
        with self.state.lock:
            event_ops.delete(self.state, self._calendar(calendar_id), event_id)

    def events(self, calendar_id: str) -> list[dict[str, Any]]:
        """The calendar's stored events that are not cancelled (masters, not instances)."""
        with self.state.lock:
            return [copy.deepcopy(s.resource) for s in self._calendar(calendar_id).events.values()
                    if not s.cancelled]

    def issue_tokens(self, email: str, client_id: str,
                     scopes: tuple[str, ...] = DEFAULT_SCOPES) -> dict[str, Any]:
        """A token response as if `email` had consented offline (skips the browser step)."""
        with self.state.lock:
            grant = self.state.grant(email.lower(), client_id)
            granted = frozenset(normalize_scopes(" ".join(scopes)) - self.state.denied_scopes)
            grant.scopes |= granted
            return {"access_token": self.state.issue_access_token(grant, granted),
                    "refresh_token": self.state.issue_refresh_token(grant, granted),
                    "expires_in": self.state.token_lifetime, "token_type": "Bearer",
                    "scope": " ".join(sorted(granted))}

    def on_consent(self, hook: ConsentHook | None) -> None:
        """Call `hook(email, time_zone)` each time a person allows access on the consent
        page (after the code is issued, before the browser is sent back)."""
        self._auth.on_consent = hook

    def set_time_zone(self, calendar_id: str, time_zone: str) -> None:
        """As if the user changed the calendar's time zone in Google's settings."""
        with self.state.lock:
            self._calendar(calendar_id).time_zone = time_zone

    def deny_scopes(self, *scopes: str) -> None:
        """The user unticks these scopes on the consent screen (granular consent)."""
        with self.state.lock:
            self.state.denied_scopes = normalize_scopes(" ".join(scopes))

    # faults

    def fail_next(self, count: int, status: int, reason: str, path_contains: str = "") -> None:
        """The next `count` requests whose path contains `path_contains` (default: any
        Calendar API path) fail with `status` and Google's body for `reason`."""
        with self.state.lock:
            self.state.faults.append(Fault(count, status, reason, path_contains))

    def expire_sync_tokens(self) -> None:
        """Every sync token issued so far now answers 410 fullSyncRequired."""
        with self.state.lock:
            self.state.sync_tokens.clear()

    @property
    def notifications(self) -> list[DeliveredPush]:
        return self._notifier.so_far()

    def wait_for_notifications(self, count: int, timeout: float = 5.0) -> list[DeliveredPush]:
        """The notifications sent so far, once there are at least `count` (or on timeout)."""
        return self._notifier.wait(count, timeout)


def serve_forever(port: int, host: str = "127.0.0.1") -> None:
    """Run the emulator in the foreground with a demo account until interrupted."""
    from calsync.emulator.demo import seed

    emulator = GoogleEmulator(port, host=host, accept_any_client=True, quiet=False)
    with emulator:
        email = seed(emulator)
        print(f"Google emulator on {emulator.base_url} (any client id; account {email})")
        print(f"  api_endpoint: {emulator.api_endpoint}")
        print(f"  auth_uri:     {emulator.auth_uri}")
        print(f"  token_uri:    {emulator.token_uri}")
        print(f"  revoke_uri:   {emulator.revoke_uri}", flush=True)
        serve_until_interrupted()

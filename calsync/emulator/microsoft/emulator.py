"""`MicrosoftEmulator`: Microsoft Graph v1.0 (calendars) and the identity platform over
TLS on a loopback port, with a certificate authority made at start.

    with MicrosoftEmulator() as microsoft:
        microsoft.add_client("client-1", "secret-1")
        microsoft.add_account("ann@contoso.example")
        app = msal.ConfidentialClientApplication(
            "client-1", client_credential="secret-1", authority=microsoft.authority(),
            verify=str(microsoft.ca_path), instance_discovery=False)

msal accepts only https authorities, and asks login.microsoftonline.com about any other
host unless told `instance_discovery=False`. Clients: only those registered with
`add_client`, unless built with `accept_any_client=True` (`serve_forever` does this).
Webhooks: Graph calls only https URLs; the emulator also calls http ones unless built
with `allow_http_webhooks=False`.
"""

from __future__ import annotations

import signal
import ssl
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from calsync.emulator import tls
from calsync.emulator.common import LoopbackServer, OAuthEmulator, serve_until_interrupted
from calsync.emulator.microsoft import delta, events, render
from calsync.emulator.microsoft.graph import Graph
from calsync.emulator.microsoft.identity import Identity, granted_scope, normalize_scopes
from calsync.emulator.microsoft.server import Application, BrowserFront
from calsync.emulator.microsoft.state import (
    ACCESS_TOKEN_LIFETIME,
    CONSUMER_TENANT,
    Fault,
    MsAccount,
    MsCalendar,
    MsState,
    graph_id,
)
from calsync.emulator.microsoft.subscriptions import Delivery, Subscriptions
from calsync.emulator.oauth import ConsentHook

# What calsync asks for (msal adds openid, profile and offline_access itself).
DEFAULT_SCOPES = ("Calendars.ReadWrite", "User.Read", "email", "openid", "profile",
                  "offline_access")


class MicrosoftEmulator(OAuthEmulator[MsState]):
    """A context manager: the server starts on enter and stops on exit."""

    scheme = "https"
    thread_name = "microsoft-emulator"

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1",
                 certificates_dir: Path | None = None, webhook_verify: bool | str = True,
                 allow_http_webhooks: bool = True, auto_consent: bool = False,
                 accept_any_client: bool = False, token_lifetime: int = ACCESS_TOKEN_LIFETIME,
                 browser_port: int | None = None, quiet: bool = True) -> None:
        """`certificates_dir`: where the CA and server certificate are written (a temporary
        directory, removed on stop, by default). `webhook_verify`: check the TLS certificate
        of https receivers (True, False, or a CA bundle's path). `auto_consent`: the consent
        page approves itself (tests may instead add `auto=1` to the authorization URL).
        `browser_port`: also serve the consent page over plain HTTP on this port (0: any
        free one) and advertise it as the authorization endpoint, so a person's browser,
        which does not trust the emulator's CA, shows no warning (a demo); msal's own calls
        stay on TLS."""
        super().__init__(port, host, quiet)
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if certificates_dir is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="calsync-microsoft-emulator-")
            certificates_dir = Path(self._scratch.name)
        self.certificates = tls.make(certificates_dir)
        self.state = MsState(token_lifetime)
        self.state.accept_any_client = accept_any_client
        self._subscriptions = Subscriptions(self.state, verify_tls=webhook_verify,
                                            allow_http=allow_http_webhooks)
        self._identity = Identity(self.state, auto_consent=auto_consent)
        self._app = Application(self.state, self._identity, Graph(self.state),
                                self._subscriptions)
        self.app = self._app
        self._browser_port = browser_port
        self._front: LoopbackServer | None = None

    def ssl_context(self) -> ssl.SSLContext:
        return self.certificates.server_context()

    def _started(self) -> None:
        self._subscriptions.start()
        if self._browser_port is not None:
            self._front = LoopbackServer(self._browser_port, self.host, self.quiet)
            self._front.app = BrowserFront(self._app)
            self.state.browser_base = self._front.start().base_url

    def _stopped(self) -> None:
        if self._front is not None:
            self._front.stop()
            self._front = None
        self._subscriptions.stop()
        if self._scratch is not None:
            self._scratch.cleanup()

    # endpoints

    @property
    def ca_path(self) -> Path:
        """The CA certificate (PEM) to trust: what CALSYNC_MICROSOFT_CA_BUNDLE names."""
        return self.certificates.ca_path

    @property
    def authority_host(self) -> str:
        """What CALSYNC_MICROSOFT_AUTHORITY_HOST names (the authority is `<host>/<tenant>`)."""
        return self.base_url

    def authority(self, tenant: str = "common") -> str:
        return f"{self.base_url}/{tenant}"

    @property
    def graph_endpoint(self) -> str:
        """What CALSYNC_MICROSOFT_GRAPH_ENDPOINT names."""
        return f"{self.base_url}/v1.0/"

    # seeding and inspecting

    def add_account(self, email: str, calendars: list[str] | None = None, *, name: str = "",
                    personal: bool = False, email_verified: bool = True) -> list[str]:
        """A work account (or a `personal` Outlook.com one) with its default calendar,
        "Calendar", and one more calendar per name in `calendars`; returns their ids."""
        email = email.lower()
        with self.state.lock:
            account = MsAccount(email, name or email.split("@")[0].title(), str(uuid.uuid4()),
                                CONSUMER_TENANT if personal else self.state.work_tenant,
                                email_verified)
            self.state.accounts[email] = account
            for index, calendar_name in enumerate(["Calendar", *(calendars or [])]):
                self._new_calendar(account, calendar_name, index == 0)
            return list(account.calendar_ids)

    def add_calendar(self, email: str, name: str) -> str:
        """As if the user made another calendar in Outlook; returns its id."""
        with self.state.lock:
            return self._new_calendar(self.state.accounts[email.lower()], name, False)

    def _new_calendar(self, account: MsAccount, name: str, default: bool) -> str:
        calendar = MsCalendar(graph_id(), account.email, name, default)
        self.state.calendars[calendar.id] = calendar
        account.calendar_ids.append(calendar.id)
        return calendar.id

    def delete_calendar(self, calendar_id: str) -> None:
        """As if the user deleted the calendar (not the default one) in Outlook: Graph
        answers 404 about it from now on."""
        with self.state.lock:
            calendar = self._calendar(calendar_id)
            self.state.accounts[calendar.owner].calendar_ids.remove(calendar_id)
            del self.state.calendars[calendar_id]

    def calendar_ids(self, email: str) -> list[str]:
        """The account's calendars, the default one first."""
        with self.state.lock:
            return list(self.state.accounts[email.lower()].calendar_ids)

    def _calendar(self, calendar_id: str) -> MsCalendar:
        calendar = self.state.calendars.get(calendar_id)
        if calendar is None:
            raise KeyError(f"No calendar {calendar_id!r}; add_account creates calendars.")
        return calendar

    def _show(self, calendar: MsCalendar, event_id: str) -> dict[str, Any]:
        event = calendar.events[event_id]
        return render.present(render.Entry(event.id, event.etag, event),
                              self.state.accounts[calendar.owner], "UTC", ZoneInfo("UTC"),
                              in_collection=False)

    def add_event(self, calendar_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """As if the user created `event` (a Graph event body) in Outlook; returned as Graph
        would return it, in UTC."""
        with self.state.lock:
            calendar = self._calendar(calendar_id)
            stored, _ = events.create(self.state, calendar, event, trusted=True)
            return self._show(calendar, stored.id)

    def update_event(self, calendar_id: str, event_id: str,
                     changes: dict[str, Any]) -> dict[str, Any]:
        """As if the user edited it in Outlook (an occurrence's id makes an exception)."""
        with self.state.lock:
            calendar = self._calendar(calendar_id)
            found = events.find(self.state, [calendar], event_id)
            updated = events.update(self.state, found, changes, trusted=True)
            return self._show(calendar, updated.id)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """As if the user deleted it (or one occurrence of a series) in Outlook."""
        with self.state.lock:
            calendar = self._calendar(calendar_id)
            events.delete(self.state, events.find(self.state, [calendar], event_id))

    def events(self, calendar_id: str) -> list[dict[str, Any]]:
        """The calendar's stored events (series masters, not occurrences), in UTC."""
        with self.state.lock:
            calendar = self._calendar(calendar_id)
            return [self._show(calendar, e.id) for e in calendar.events.values()
                    if not e.deleted]

    def issue_tokens(self, email: str, client_id: str,
                     scopes: tuple[str, ...] = DEFAULT_SCOPES) -> dict[str, Any]:
        """An access and a refresh token as if `email` had consented (no browser step)."""
        with self.state.lock:
            grant = self.state.grant(email.lower(), client_id)
            granted = frozenset(normalize_scopes(" ".join(scopes)))
            grant.scopes |= granted
            return {"access_token": self._identity.access_token(grant, granted),
                    "token_type": "Bearer",
                    "refresh_token": self.state.issue_refresh_token(grant, granted),
                    "expires_in": self.state.token_lifetime,
                    "scope": granted_scope(granted)}

    def on_consent(self, hook: ConsentHook | None) -> None:
        """Call `hook(email, time_zone)` each time a person allows access on the consent
        page (the zone the page sent, the browser's; "" without one)."""
        self._identity.on_consent = hook

    @property
    def time_zone(self) -> str:
        """The zone the consent page names until the browser says its own."""
        return self._identity.time_zone

    def set_time_zone(self, time_zone: str) -> None:
        self._identity.time_zone = time_zone

    def expire_delta_tokens(self) -> None:
        """Every delta link issued so far now answers 410 syncStateNotFound."""
        with self.state.lock:
            delta.expire(self.state)

    # faults

    def fail_next(self, count: int, status: int, code: str = "", path_contains: str = "",
                  retry_after: int | None = None) -> None:
        """The next `count` requests whose path contains `path_contains` (default: any Graph
        path) fail with `status`, Graph's body for `code` (by default the one Graph sends
        with that status: 429 ApplicationThrottled) and `Retry-After` when given."""
        with self.state.lock:
            self.state.faults.append(Fault(count, status, code, path_contains, retry_after))

    # subscriptions

    def lifecycle(self, subscription_id: str, event: str) -> bool:
        """Send a lifecycle notification: `reauthorizationRequired`, `missed`, or
        `subscriptionRemoved` (which also ends the subscription)."""
        return self._subscriptions.lifecycle(subscription_id, event)

    def subscription_ids(self) -> list[str]:
        """The subscriptions still live."""
        with self.state.lock:
            now = datetime.now(UTC)
            return [s.id for s in self.state.subscriptions.values() if s.live(now)]

    @property
    def deliveries(self) -> list[Delivery]:
        return self._subscriptions.so_far()

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """The deliveries so far (validations included), once there are at least `count`."""
        return self._subscriptions.wait(count, timeout)


def serve_forever(port: int, host: str = "127.0.0.1", ca_file: Path | None = None,
                  browser_port: int | None = None) -> None:
    """Run the emulator in the foreground with a demo account until interrupted; the CA's
    certificate is also copied to `ca_file` when given; `browser_port` serves the consent
    page over plain HTTP there (see `MicrosoftEmulator`)."""
    from calsync.emulator.microsoft.demo import seed

    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # so a process manager's SIGTERM also removes the key files

    signal.signal(signal.SIGTERM, interrupted)
    emulator = MicrosoftEmulator(port, host=host, accept_any_client=True,
                                 browser_port=browser_port, quiet=False)
    with emulator:
        email = seed(emulator)
        if ca_file is not None:
            ca_file.write_bytes(emulator.ca_path.read_bytes())
        print(f"Microsoft emulator on {emulator.base_url} (any client id; account {email})")
        print(f"  CALSYNC_MICROSOFT_AUTHORITY_HOST={emulator.authority_host}")
        print(f"  CALSYNC_MICROSOFT_GRAPH_ENDPOINT={emulator.graph_endpoint}")
        print(f"  CALSYNC_MICROSOFT_CA_BUNDLE={ca_file or emulator.ca_path}")
        if emulator.state.browser_base:
            print(f"  consent page for browsers: {emulator.state.browser_base} (plain HTTP)")
        print("  Chromium trusts its TLS with --ignore-certificate-errors-spki-list="
              f"{emulator.certificates.spki_pin}", flush=True)
        serve_until_interrupted()

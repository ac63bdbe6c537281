"""Talking to Microsoft Graph: thin calls over `requests`, tokens refreshed through `msal`,
TLS verified against the system's certificates plus CALSYNC_MICROSOFT_CA_BUNDLE, and
Graph's answers turned into sentences on a SourceError.

Why not msgraph-sdk: calsync needs a dozen endpoints. msgraph-sdk 1.65 installs 472 MB
(392 MB of it generated request builders) and its client, the Event model and one delta
builder take 0.6-0.8 s to import; `requests` is already here and msal (1 MB) with it imports
in 0.2-0.35 s (CPython 3.11, `time python -c "import ..."`, three runs each, December 2026).
Every URL comes from the endpoint settings, so the emulator can stand in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import certifi
import msal
import requests

from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import SourceError

log = logging.getLogger(__name__)

DEMO_CLIENT_ID = "calsync-demo"  # the emulator's `serve_forever` accepts any client
DEMO_CLIENT_SECRET = "calsync-demo-secret"  # noqa: S105 - the emulator's, not a secret
# msal adds openid, profile and offline_access itself and refuses them in this list.
SCOPES = ("Calendars.ReadWrite", "User.Read", "email")
RESERVED = ("openid", "profile", "offline_access")
MICROSOFT_HOST = "https://login.microsoftonline.com"
REFRESH_MARGIN = timedelta(minutes=2)  # refresh a token this close to its expiry first
MAX_TRIES = 3  # 429/503/network: wait as Graph asks (at most MAX_WAIT) and try again
MAX_WAIT = 30.0  # seconds; a longer Retry-After becomes a transient error that carries it
TIMEOUT = 30  # seconds per request when the settings give none
IN_UTC = 'outlook.timezone="UTC"'  # Prefer it: times in UTC, no Windows zone names
RECONNECT = "Microsoft no longer lets calsync read this calendar: reconnect it."
COMBINED_CA = "microsoft-ca-bundle.pem"  # in the instance folder: see tls_verify

# How retries wait. A module attribute so tests can swap in a recorder that does not sleep.
sleep: Callable[[float], None] = time.sleep


def tls_verify(settings: Settings) -> str | bool:
    """What `requests` verifies against: the system's certificates, plus the configured
    bundle's when there is one. Never False.

    The two share one file in the instance folder, not the shared temp folder, where
    another local user could plant a file of a name calsync would pick. It is trusted only
    when its content is what it should be, else rewritten whole: one file, however often
    the bundle changes (the demo's emulator makes a CA at every start)."""
    extra = settings.microsoft_ca_bundle
    if not extra:
        return True
    system = ssl.get_default_verify_paths().cafile or certifi.where()
    wanted = Path(system).read_bytes() + b"\n" + Path(extra).read_bytes()
    combined = settings.instance_path / COMBINED_CA
    with contextlib.suppress(FileNotFoundError):
        if combined.read_bytes() == wanted:
            return str(combined)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    # mkstemp: a private file (0600) of a fresh name; replace is atomic, so a concurrent
    # reader never sees half a bundle.
    handle, partial = tempfile.mkstemp(prefix=".microsoft-ca-", suffix=".tmp",
                                       dir=settings.instance_path)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(wanted)
        os.replace(partial, combined)
    finally:
        Path(partial).unlink(missing_ok=True)  # left only when the write failed
    return str(combined)


def http_session(settings: Settings) -> requests.Session:
    """A session whose `verify` holds: with a bundle configured, the environment's
    REQUESTS_CA_BUNDLE must not replace it (requests lets it), so the environment is off."""
    session = requests.Session()
    session.verify = tls_verify(settings)
    if settings.microsoft_ca_bundle:
        session.trust_env = False
    return session


def authority(settings: Settings) -> str:
    return f"{settings.microsoft_authority_host.rstrip('/')}/{settings.microsoft_tenant}"


def msal_app(settings: Settings, session: requests.Session) -> msal.ConfidentialClientApplication:
    """msal for calsync's app; reads the authority's openid-configuration when built."""
    host = settings.microsoft_authority_host.rstrip("/")
    return msal.ConfidentialClientApplication(
        settings.microsoft_client_id or DEMO_CLIENT_ID,
        client_credential=settings.microsoft_client_secret or DEMO_CLIENT_SECRET,
        authority=authority(settings), http_client=session,
        # Any other host (an emulator) is not one of Microsoft's clouds: don't ask them.
        instance_discovery=host == MICROSOFT_HOST)


def tokens_from(result: dict[str, Any]) -> dict[str, Any]:
    """calsync's token dict from an msal result."""
    expiry = datetime.now(UTC) + timedelta(seconds=int(result.get("expires_in") or 0))
    return {"token": result.get("access_token"), "refresh_token": result.get("refresh_token"),
            "expiry": expiry.isoformat(), "scopes": str(result.get("scope", "")).split()}


class Graph:
    """Graph calls for one account; refreshed tokens land back in `credentials` in place."""

    def __init__(self, settings: Settings, credentials: dict[str, Any] | None) -> None:
        if not credentials or not (credentials.get("token") or credentials.get("refresh_token")):
            raise SourceError(RECONNECT, status=SourceStatus.NEEDS_RECONNECT)
        self.settings = settings
        self.credentials = credentials
        self.session = http_session(settings)
        self.base = settings.microsoft_graph_endpoint.rstrip("/") + "/"

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        """`path` relative to the Graph endpoint, or a link Graph gave (kept as given, but
        only on Graph's own host: a token never goes elsewhere)."""
        if "://" not in path:
            return self.base + path.lstrip("/")
        if urlsplit(path).netloc != urlsplit(self.base).netloc:
            raise SourceError("Microsoft Graph answered with a link to another server.")
        return path

    def call(self, method: str, path: str, *, json: Any = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        """One Graph request, riding out expired tokens, 429/503 (Retry-After) and network
        trouble. Returns every other answer for the caller to judge; raises SourceError
        (transient once the tries run out, needs_reconnect when the grant is gone)."""
        self._fresh()
        refreshed = False
        for attempt in range(1, MAX_TRIES + 1):
            try:
                response = self.session.request(
                    method, self.url(path), json=json, timeout=self.settings.fetch_timeout_seconds
                    or TIMEOUT, headers={"Authorization": f"Bearer {self.credentials['token']}",
                                         **(headers or {})})
            except requests.RequestException as exc:
                log.info("graph call failed (try %d of %d): %s", attempt, MAX_TRIES,
                         type(exc).__name__)
                if attempt == MAX_TRIES:
                    raise SourceError(busy(), transient=True) from exc
                sleep(float(attempt))
                continue
            if response.status_code == 401 and not refreshed:
                refreshed = True  # revoked, or expired early: one refresh decides which
                self._refresh()
                continue
            if response.status_code == 401:
                raise SourceError(RECONNECT, status=SourceStatus.NEEDS_RECONNECT)
            if response.status_code not in (429, 503, 504):
                return response
            wait = retry_after(response)
            if attempt == MAX_TRIES or wait > MAX_WAIT:
                # A wait longer than a call rides out goes with the error: no sync comes
                # sooner. (Shorter ones are left to the caller's backoff, which an outbox
                # entry would otherwise trade for retrying every few seconds unendingly.)
                raise SourceError(busy(wait), transient=True, retry_in=timedelta(
                    seconds=wait) if wait > MAX_WAIT else None)
            sleep(max(wait, float(attempt)))
        raise SourceError(busy(), transient=True)

    def _fresh(self) -> None:
        expiry = self.credentials.get("expiry")
        try:
            ends = datetime.fromisoformat(str(expiry)) if expiry else None
        except ValueError:
            ends = None
        if not self.credentials.get("token") or (
                ends is not None and ends - REFRESH_MARGIN < datetime.now(UTC)):
            self._refresh()

    def _refresh(self) -> None:
        refresh_token = self.credentials.get("refresh_token")
        if not refresh_token:
            raise SourceError(RECONNECT, status=SourceStatus.NEEDS_RECONNECT)
        try:
            result = msal_app(self.settings, self.session).acquire_token_by_refresh_token(
                refresh_token, list(SCOPES))
        except (msal.exceptions.MsalServiceError, requests.RequestException, ValueError) as exc:
            # The identity platform is down (msal raises on its 5xx) or unreachable.
            raise SourceError(busy(), transient=True) from exc
        if "access_token" not in result:
            raise refresh_failure(result)
        fresh = tokens_from(result)
        fresh["refresh_token"] = fresh["refresh_token"] or refresh_token
        self.credentials.update(fresh)


def retry_after(response: requests.Response) -> float:
    raw = response.headers.get("Retry-After", "")
    return float(raw) if raw.isdigit() else 0.0


def busy(wait: float = 0.0) -> str:
    later = f" in about {int(wait)} seconds" if wait else " shortly"
    return f"Microsoft 365 is busy or unreachable right now; calsync will try again{later}."


def refresh_failure(result: dict[str, Any]) -> SourceError:
    error = str(result.get("error", ""))
    if error in ("invalid_client", "unauthorized_client"):
        log.error("Microsoft refused calsync's app: %s", error)
        return SourceError("Microsoft refused calsync's own app registration; the administrator "
                           "must check MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET.")
    if error in ("temporarily_unavailable", "server_error"):
        return SourceError(busy(), transient=True)
    return SourceError(RECONNECT, status=SourceStatus.NEEDS_RECONNECT)


def calendar_path(calendar_id: str) -> str:
    return f"me/calendars/{quote(calendar_id, safe='')}"


def error_code(response: requests.Response) -> str:
    """Graph's error code (`syncStateNotFound`, `ErrorItemNotFound` ...), or ""."""
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def source_error(response: requests.Response, calendar: str, doing: str = "read") -> SourceError:
    """A sentence for the user about an answer `Graph.call` left to the caller."""
    status, code = response.status_code, error_code(response)
    log.warning("graph %s of %r failed: %s %s", doing, calendar, status, code)
    if status == 404:
        return SourceError(f"The Outlook calendar “{calendar}” no longer exists, or calsync may "
                           "no longer see it: pick the calendars to use again.",
                           status=SourceStatus.DISABLED)
    if status == 403:
        return SourceError(f"Microsoft does not let calsync {doing} “{calendar}”: check that "
                           "you may change it, or pick another calendar.")
    if status >= 500:
        return SourceError(busy(), transient=True)
    return SourceError(f"Microsoft refused to let calsync {doing} “{calendar}” (error {status} "
                       f"{code}); calsync will try again later.")


def start_flow(settings: Settings, redirect_uri: str, state: str, login_hint: str = "",
               prompt: str | None = None) -> dict[str, Any]:
    """msal's authorization code flow with PKCE: `auth_uri`, `code_verifier`, `nonce` ..."""
    with http_session(settings) as session, warnings.catch_warnings():
        # msal advises response_mode=form_post at every start. calsync's callback reads the
        # query, which carries only a code: bound to this flow's PKCE verifier and state,
        # redeemed once, and scrubbed from the access log. The advice is taken as read.
        warnings.filterwarnings("ignore", "response_mode='form_post'", UserWarning)
        flow: dict[str, Any] = msal_app(settings, session).initiate_auth_code_flow(
            list(SCOPES), redirect_uri=redirect_uri, state=state,
            login_hint=login_hint or None, prompt=prompt)
    return flow


def finish_flow(settings: Settings, flow: dict[str, Any],
                answer: dict[str, str]) -> dict[str, Any]:
    """Redeem the callback's `answer` for `flow`: msal's result (tokens, `id_token_claims`
    and `credentials` in calsync's shape, or `error`). Raises SourceError when Microsoft is
    unreachable or the answer does not belong to the flow (msal's state and nonce checks)."""
    flow = {"scope": [*SCOPES, *RESERVED], **flow}  # what msal asked for, reserved ones too
    try:
        with http_session(settings) as session:
            result: dict[str, Any] = msal_app(settings, session).acquire_token_by_auth_code_flow(
                flow, answer)
    except (msal.exceptions.MsalServiceError, requests.RequestException) as exc:
        raise SourceError(busy(), transient=True) from exc
    except (ValueError, RuntimeError) as exc:  # a state mismatch; a nonce that isn't ours
        raise SourceError("Microsoft's answer does not belong to this sign-in.") from exc
    if "access_token" in result:
        result["credentials"] = tokens_from(result)
    return result

"""Talking to the Calendar API: calsync's token dict in and out of google-auth, the service,
calm retries with backoff, and Google's errors turned into sentences on a SourceError.

calsync reaches Google only through the endpoint settings (`google_api_endpoint`,
`google_token_uri`), so the emulator or any Google-compatible server can stand in.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from calsync.config import Settings
from calsync.domain.backoff import backoff as doubling
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import SourceError

log = logging.getLogger(__name__)

DEMO_CLIENT_ID = "calsync-demo"  # the emulator accepts any client when none is configured
DEMO_CLIENT_SECRET = "calsync-demo-secret"  # noqa: S105 - the emulator's, as in services.google.oauth
MAX_TRIES = 6  # about 1 + 2 + 4 + 8 + 16 s of waiting before a read or write gives up
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = 60.0  # seconds; no wait is longer, whatever Google's Retry-After asks
RATE_LIMITS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
RECONNECT = "Google no longer lets calsync read this calendar: reconnect it."
BUSY = "Google Calendar is busy or unreachable right now; calsync will try again {later}."

# How retries wait. A module attribute so tests can swap in a recorder that does not sleep.
sleep: Callable[[float], None] = time.sleep


def backoff(attempt: int) -> float:
    """About 1, 2, 4, 8 ... seconds for attempts 1, 2, 3 ..., jittered, at most a minute."""
    wait = doubling(attempt, FIRST_DELAY, timedelta(seconds=MAX_DELAY)).total_seconds()
    # Capped again after the jitter: a minute is the most any wait may be.
    return min(wait * random.uniform(0.8, 1.2), MAX_DELAY)  # noqa: S311 - jitter, not a secret


# credentials


def to_credentials(settings: Settings, data: dict[str, Any]) -> Credentials:
    """google-auth's credentials for calsync's unsealed token dict."""
    return Credentials(
        data.get("token"),
        refresh_token=data.get("refresh_token"),
        token_uri=settings.google_token_uri,
        client_id=settings.google_client_id or DEMO_CLIENT_ID,
        client_secret=settings.google_client_secret or DEMO_CLIENT_SECRET,
        scopes=list(data.get("scopes") or []) or None,
        expiry=_naive_utc(data.get("expiry")),
    )


def _naive_utc(value: Any) -> datetime | None:
    # google-auth compares expiry against a naive UTC clock.
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None  # unknown expiry: the first 401 makes google-auth refresh
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def keep_refreshed(credentials: Credentials, data: dict[str, Any]) -> None:
    """Write a token google-auth refreshed back into calsync's dict, in place."""
    if credentials.token and credentials.token != data.get("token"):
        data["token"] = credentials.token
        expiry = credentials.expiry
        data["expiry"] = expiry.strftime("%Y-%m-%dT%H:%M:%SZ") if expiry else None
    if credentials.refresh_token and credentials.refresh_token != data.get("refresh_token"):
        data["refresh_token"] = credentials.refresh_token


@contextmanager
def calendar_service(settings: Settings, data: dict[str, Any] | None) -> Iterator[Any]:
    """A Calendar v3 service for one account; refreshed tokens land back in `data` on exit."""
    if not data or not (data.get("token") or data.get("refresh_token")):
        raise SourceError(RECONNECT, status=SourceStatus.NEEDS_RECONNECT)
    credentials = to_credentials(settings, data)
    http = google_auth_httplib2.AuthorizedHttp(
        credentials, http=httplib2.Http(timeout=settings.fetch_timeout_seconds))
    try:
        yield build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False,
                    client_options={"api_endpoint": settings.google_api_endpoint})
    finally:
        keep_refreshed(credentials, data)
        http.close()


# calls


def execute(request: Any) -> Any:
    """Run one API request, riding out rate limits, 5xx and network trouble with backoff.

    Raises SourceError(transient) once the tries run out, SourceError(needs_reconnect)
    when the grant is gone, and HttpError for every other answer, for the caller to judge.
    """
    for attempt in range(1, MAX_TRIES + 1):
        wait = backoff(attempt)
        try:
            return request.execute()
        except HttpError as exc:
            if exc.status_code == 401:
                # google-auth already refreshed once and Google still says no.
                raise SourceError(RECONNECT, status=SourceStatus.NEEDS_RECONNECT) from exc
            if not retryable(exc):
                raise
            wait = max(wait, min(_retry_after(exc), MAX_DELAY))
            problem: Exception = exc
        except RefreshError as exc:
            if not exc.retryable:
                raise refresh_failure(exc) from exc
            problem = exc
        except (TransportError, OSError, httplib2.HttpLib2Error) as exc:
            problem = exc  # timeouts, refused or reset connections, DNS
        log.info("google call failed (try %d of %d): %s", attempt, MAX_TRIES,
                 type(problem).__name__)
        if attempt == MAX_TRIES:
            # A Retry-After longer than the waits here (cut to MAX_DELAY) goes with the
            # error: the next sync comes no sooner.
            asked = _retry_after(problem) if isinstance(problem, HttpError) else 0.0
            if asked > MAX_DELAY:
                raise SourceError(BUSY.format(later=f"in about {int(asked)} seconds"),
                                  transient=True, retry_in=timedelta(seconds=asked)) from problem
            raise SourceError(BUSY.format(later="shortly"), transient=True) from problem
        sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def retryable(exc: HttpError) -> bool:
    status = exc.status_code
    return status == 429 or status >= 500 or (status == 403 and reason_of(exc) in RATE_LIMITS)


def reason_of(exc: HttpError) -> str:
    """Google's machine-readable reason (`rateLimitExceeded`, `notFound` ...), or ""."""
    try:
        body = json.loads(exc.content)
        return str(body["error"]["errors"][0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _retry_after(exc: HttpError) -> float:
    raw = (exc.resp or {}).get("retry-after", "")
    return float(raw) if str(raw).isdigit() else 0.0


def refresh_failure(exc: RefreshError) -> SourceError:
    details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    if details.get("error") in ("invalid_client", "unauthorized_client"):
        log.error("Google refused calsync's OAuth client: %s", details.get("error"))
        return SourceError("Google refused calsync's own OAuth client; the administrator must "
                           "check GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET.")
    return SourceError(RECONNECT, status=SourceStatus.NEEDS_RECONNECT)


def source_error(exc: HttpError, calendar: str, doing: str = "read") -> SourceError:
    """A sentence for the user about an answer `execute` left to the caller."""
    status, reason = exc.status_code, reason_of(exc)
    log.warning("google %s of %r failed: %s %s", doing, calendar, status, reason)
    if status == 404:
        return SourceError(f"The Google calendar “{calendar}” no longer exists, or calsync "
                           "may no longer see it: pick the calendars to use again.",
                           status=SourceStatus.DISABLED)
    if status == 403 and reason == "insufficientPermissions":
        return SourceError(RECONNECT, status=SourceStatus.NEEDS_RECONNECT)
    if status == 403:
        return SourceError(f"Google does not let calsync {doing} “{calendar}”: check that "
                           "you own it or may change it, or pick another calendar.")
    return SourceError(f"Google refused to let calsync {doing} “{calendar}” (error {status}); "
                       "calsync will try again later.")

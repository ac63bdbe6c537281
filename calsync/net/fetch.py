"""Download a user-supplied calendar URL safely: scheme, size, time and address checks.

Every failure is a SourceError with a sentence for the user; `transient` says whether
trying again later may help (timeouts, 5xx) or the user must fix the address (404, refusal).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from urllib.parse import urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from calsync.config import Settings
from calsync.errors import SourceError, SourceUnavailable
from calsync.net.addresses import is_public_address
from calsync.net.guarded_http import Exchange, RefusedAddress

__all__ = ["FetchResult", "fetch", "is_public_address", "normalize_url"]

MAX_REDIRECTS = 5
USER_AGENT = "calsync/0.1 (+calendar follow-ups; ICS reader)"
# webcal:// is a hint to open a calendar app, not a protocol; everyone serves it over HTTPS.
SCHEMES = {"http": "http", "https": "https", "webcal": "https", "webcals": "https"}
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchResult:
    """What a fetch brought back; `body` is None when the server said 304 Not Modified."""

    url: str  # the address finally read, after redirects
    body: bytes | None
    etag: str = ""
    last_modified: str = ""
    charset: str = ""  # as declared in Content-Type, "" when absent

    @property
    def not_modified(self) -> bool:
        return self.body is None


def normalize_url(url: str) -> str:
    """The http(s) URL to request for `url`; raises SourceError for other schemes."""
    parts = urlsplit(url.strip())
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        shown = f"{parts.scheme}://" if parts.scheme else "an address without http://"
        raise SourceError(
            f"calsync reads calendars only from https://, http:// or webcal:// addresses, "
            f"not {shown}.",
            "Copy the calendar's public or secret iCal (ICS) address.")
    if not parts.hostname:
        raise SourceError("The calendar address has no host name.",
                          "Copy the whole address, starting with https://.")
    return urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))


def refusal(shown: str) -> SourceError:
    # One sentence whatever lies behind the address: it is refused before any connection,
    # so nothing in the answer tells whether a port there is open.
    return SourceError(
        f"calsync does not fetch addresses on private or local networks ({shown}).",
        "Use a calendar address on the public internet, or upload the .ics file instead.")


def fetch(url: str, settings: Settings, *, etag: str = "", last_modified: str = "") -> FetchResult:
    """GET `url` with the cursor's validators, following at most MAX_REDIRECTS checked hops.

    The whole exchange (every hop's lookup, connect, TLS, headers and body) ends within
    `settings.fetch_timeout_seconds` of wall-clock time. Raises SourceError for refused
    addresses, unsupported schemes, HTTP errors, time-outs and bodies larger than
    `settings.fetch_max_bytes`.
    """
    exchange = Exchange(settings.fetch_timeout_seconds, guard=not settings.allow_private_urls)
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = normalize_url(url)
    for _hop in range(MAX_REDIRECTS + 1):
        host = urlsplit(current).hostname or ""
        with _hop_pool(exchange, current) as pool:
            response = _request(pool, exchange, current, headers, settings)
            try:
                if response.status in _REDIRECTS:
                    current = _redirect_target(current, response, host)
                    continue
                if response.status == 304:
                    return FetchResult(current, None, etag, last_modified)
                _raise_for_status(response.status, host)
                body = read_body(response, exchange, settings, host)
                return FetchResult(
                    current, body,
                    etag=response.headers.get("ETag", ""),
                    last_modified=response.headers.get("Last-Modified", ""),
                    charset=_charset(response.headers.get("Content-Type", "")),
                )
            finally:
                # Close rather than pool: an unread error or redirect body would otherwise
                # keep its socket open; one fetch never reuses a connection anyway.
                response.close()
                response.release_conn()
    raise SourceError(f"The calendar address redirected more than {MAX_REDIRECTS} times.",
                      "Open it in a browser to find where it ends up, and use that address.")


def _hop_pool(exchange: Exchange, url: str) -> urllib3.HTTPConnectionPool:
    # urllib3's pools directly, not requests: they never read proxy settings from the
    # environment, which would otherwise route around the address check.
    parts = urlsplit(url)
    return exchange.pool(parts.scheme, parts.hostname or "", parts.port)


def _redirect_target(current: str, response: urllib3.BaseHTTPResponse, host: str) -> str:
    location = response.headers.get("Location", "")
    if not location:
        raise SourceError(f"The calendar server at {host} redirected without saying where "
                          f"(HTTP {response.status}).")
    return normalize_url(urljoin(current, location))


def _request(pool: urllib3.HTTPConnectionPool, exchange: Exchange, url: str,
             headers: dict[str, str], settings: Settings) -> urllib3.BaseHTTPResponse:
    parts = urlsplit(url)
    host = parts.hostname or url
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    try:
        response = pool.urlopen("GET", target, headers=headers, redirect=False, retries=False,
                                preload_content=False, assert_same_host=False,
                                timeout=exchange.timeout())
    except RefusedAddress as exc:
        raise refusal(exc.shown) from None
    except NewConnectionError as exc:  # first: urllib3 makes it a ConnectTimeoutError too
        raise connection_error(exc, host) from exc
    except (ConnectTimeoutError, ReadTimeoutError) as exc:
        raise timed_out(host, settings) from exc
    except (HTTPError, OSError) as exc:
        if exchange.expired:  # the watchdog cut the socket (mid-handshake, mid-headers)
            raise timed_out(host, settings) from exc
        raise connection_error(exc, host) from exc
    if exchange.cut:  # http.client takes a cut-off header block for a whole one
        response.close()
        raise timed_out(host, settings)
    return response


def connection_error(exc: BaseException, host: str) -> SourceError:
    """A failure to reach `host` in words the user reads (shared with the CalDAV client)."""
    if isinstance(exc, NameResolutionError):
        return SourceError(f"The calendar's host name {host} could not be found.",
                           "Check the address; calsync will try again later.", transient=True)
    if isinstance(exc, NewConnectionError):
        return SourceError(f"calsync could not connect to {host}.",
                           "The server may be down; calsync will try again later.",
                           transient=True)
    return SourceError(f"The connection to {host} failed before the calendar arrived.",
                       "calsync will try again later.", transient=True)


def timed_out(host: str, settings: Settings) -> SourceUnavailable:
    """`host` took longer than CALSYNC_FETCH_TIMEOUT_SECONDS: worth trying again later."""
    return SourceUnavailable(
        f"The calendar at {host} did not arrive within {settings.fetch_timeout_seconds} seconds.",
        "The server may be slow or down; calsync will try again later.")


def _raise_for_status(status: int, host: str) -> None:
    if 200 <= status < 300:
        return
    if status in (404, 410):
        raise SourceError(f"The calendar address was not found at {host} (HTTP {status}).",
                          "Check the link is still valid: calendar apps change the secret "
                          "address when it is reset.")
    if status in (401, 403):
        raise SourceError(f"The calendar server at {host} refused access (HTTP {status}).",
                          "Use the calendar's public or secret iCal address; calsync cannot "
                          "sign in to calendars.")
    if status == 429:
        raise SourceUnavailable(f"The calendar server at {host} asked calsync to slow down "
                                f"(HTTP 429).", "calsync will try again later.")
    if status >= 500:
        raise SourceUnavailable(f"The calendar server at {host} had an error (HTTP {status}).",
                                "calsync will try again later.")
    raise SourceError(f"The calendar server at {host} refused the request (HTTP {status}).",
                      "Check the address.")


def read_body(response: urllib3.BaseHTTPResponse, exchange: Exchange, settings: Settings,
              host: str) -> bytes:
    """The answer's body, read within the exchange's deadline and CALSYNC_FETCH_MAX_BYTES;
    SourceError when it is larger or arrives too slowly."""
    limit = settings.fetch_max_bytes
    too_large = SourceError(f"The calendar is larger than {_megabytes(limit)}, the most "
                            f"calsync reads.", "Ask the calendar's owner for a smaller feed, "
                            "for example one that leaves out past years.")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            # read1 returns what has arrived, so a trickling server meets the deadline too.
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
            if exchange.expired:
                raise timed_out(host, settings)
    except (HTTPError, OSError) as exc:
        if exchange.expired or isinstance(exc, ReadTimeoutError):
            raise timed_out(host, settings) from exc
        raise SourceError(f"The download from {host} was cut off.",
                          "calsync will try again later.", transient=True) from exc
    if exchange.cut:  # the end came from the watchdog, not the server: the body is partial
        raise timed_out(host, settings)
    return b"".join(chunks)


def _charset(content_type: str) -> str:
    message = Message()
    message["Content-Type"] = content_type
    return str(message.get_param("charset") or "").strip()


def _megabytes(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):.0f} MB"
    return f"{size / (1 << 10):.0f} KB" if size >= 1 << 10 else f"{size} bytes"

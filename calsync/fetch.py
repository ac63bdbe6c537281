"""Download a user-supplied calendar URL safely: scheme, size, time and address checks.

Every failure is a SourceError with a sentence for the user; `transient` says whether
trying again later may help (timeouts, 5xx) or the user must fix the address (404, refusal).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from calsync.config import Settings
from calsync.errors import SourceError

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


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def is_public_address(address: str) -> bool:
    """Whether an IP address is on the public internet (not loopback, private, link-local...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address wrapped in IPv6 reaches the IPv4 host: judge that one.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:  # a NAT64 gateway forwards to the low 32 bits
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return ip.is_global and not (
        ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
        or ip.is_unspecified or ip.is_private)


def refusal(address: str) -> SourceError:
    return SourceError(
        f"calsync does not fetch addresses on private or local networks ({address}).",
        "Use a calendar address on the public internet, or upload the .ics file instead.")


def check_host(host: str, port: int) -> None:
    """Refuse a host any of whose addresses is not public; the connection is checked again."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SourceError(f"The calendar's host name {host} could not be found.",
                          "Check the address; calsync will try again later.",
                          transient=True) from exc
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            raise refusal(address if address == host.strip("[]") else f"{host} is {address}")


class _RefusedAddress(Exception):
    """Raised inside urllib3 when a connection reached a non-public address (DNS rebinding)."""

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.address = address


class _PeerCheck:
    """Checks the address a socket actually connected to, after DNS and before any byte."""

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        address = str(sock.getpeername()[0])
        if not is_public_address(address):
            sock.close()
            raise _RefusedAddress(address)
        return sock


class _GuardedHTTPConnection(_PeerCheck, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_PeerCheck, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _pool_manager(allow_private: bool) -> urllib3.PoolManager:
    # urllib3 directly, not requests: it never reads proxy settings from the environment,
    # which would otherwise route around the address check.
    manager = urllib3.PoolManager(num_pools=2, retries=False)
    if not allow_private:
        manager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
    return manager


def fetch(url: str, settings: Settings, *, etag: str = "", last_modified: str = "") -> FetchResult:
    """GET `url` with the cursor's validators, following at most MAX_REDIRECTS checked hops.

    Raises SourceError for refused addresses, unsupported schemes, HTTP errors, time-outs
    and bodies larger than `settings.fetch_max_bytes`.
    """
    deadline = time.monotonic() + settings.fetch_timeout_seconds
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = normalize_url(url)
    with _pool_manager(settings.allow_private_urls) as manager:
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            host = parts.hostname or ""
            if not settings.allow_private_urls:
                check_host(host, parts.port or (443 if parts.scheme == "https" else 80))
            response = _request(manager, current, headers, deadline, settings)
            try:
                if response.status in _REDIRECTS:
                    location = response.headers.get("Location", "")
                    if not location:
                        raise SourceError(
                            f"The calendar server at {host} redirected without saying where "
                            f"(HTTP {response.status}).")
                    current = normalize_url(urljoin(current, location))
                    continue
                if response.status == 304:
                    return FetchResult(current, None, etag, last_modified)
                _raise_for_status(response.status, host)
                body = _read_body(response, deadline, settings, host)
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


def _request(manager: urllib3.PoolManager, url: str, headers: dict[str, str],
             deadline: float, settings: Settings) -> urllib3.BaseHTTPResponse:
    host = urlsplit(url).hostname or url
    remaining = max(deadline - time.monotonic(), 0.1)
    timeout = urllib3.Timeout(connect=min(remaining, 10.0), read=remaining)
    try:
        return manager.request("GET", url, headers=headers, redirect=False,
                               preload_content=False, timeout=timeout)
    except _RefusedAddress as exc:
        raise refusal(exc.address) from None
    except NameResolutionError as exc:
        raise SourceError(f"The calendar's host name {host} could not be found.",
                          "Check the address; calsync will try again later.",
                          transient=True) from exc
    except NewConnectionError as exc:  # before timeouts: urllib3 makes it a ConnectTimeoutError
        raise SourceError(f"calsync could not connect to {host}.",
                          "The server may be down; calsync will try again later.",
                          transient=True) from exc
    except (ConnectTimeoutError, ReadTimeoutError) as exc:
        raise _timeout(host, settings) from exc
    except HTTPError as exc:
        raise SourceError(f"The connection to {host} failed before the calendar arrived.",
                          "calsync will try again later.", transient=True) from exc


def _timeout(host: str, settings: Settings) -> SourceError:
    return SourceError(
        f"The calendar at {host} did not arrive within {settings.fetch_timeout_seconds} seconds.",
        "The server may be slow or down; calsync will try again later.", transient=True)


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
        raise SourceError(f"The calendar server at {host} asked calsync to slow down "
                          f"(HTTP 429).", "calsync will try again later.", transient=True)
    if status >= 500:
        raise SourceError(f"The calendar server at {host} had an error (HTTP {status}).",
                          "calsync will try again later.", transient=True)
    raise SourceError(f"The calendar server at {host} refused the request (HTTP {status}).",
                      "Check the address.")


def _read_body(response: urllib3.BaseHTTPResponse, deadline: float, settings: Settings,
               host: str) -> bytes:
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
            if time.monotonic() > deadline:
                raise _timeout(host, settings)
    except ReadTimeoutError as exc:
        raise _timeout(host, settings) from exc
    except HTTPError as exc:
        raise SourceError(f"The download from {host} was cut off.",
                          "calsync will try again later.", transient=True) from exc
    return b"".join(chunks)


def _charset(content_type: str) -> str:
    message = Message()
    message["Content-Type"] = content_type
    return str(message.get_param("charset") or "").strip()


def _megabytes(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):.0f} MB"
    return f"{size / (1 << 10):.0f} KB" if size >= 1 << 10 else f"{size} bytes"

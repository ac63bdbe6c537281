"""WebDAV requests for the CalDAV provider, each through calsync's address guard (the same
checked urllib3 connections as ICS fetches), with answers read into `DavResponse`s and
refusals into SourceErrors that say what the user can do."""

from __future__ import annotations

import base64
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import SourceError, SourceUnavailable
from calsync.net.addresses import is_public_address
from calsync.net.fetch import (
    connection_error,
    normalize_url,
    read_body,
    refusal,
    timed_out,
)
from calsync.net.guarded_http import Exchange, RefusedAddress, resolve

log = logging.getLogger(__name__)
# Servers' XML is read with ElementTree (the S314 exemptions below): expat bounds entity
# expansion and never fetches external DTDs or entities.

DAV, CALDAV = "DAV:", "urn:ietf:params:xml:ns:caldav"
USER_AGENT = "calsync/0.1 (+calendar follow-ups; CalDAV client)"
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
WRITING = ("write to", "delete from")  # what `refused` is told about PUTs and DELETEs
CREDENTIALS_HINT = ("Check the user name and password. Many servers (iCloud, Fastmail, "
                     "Nextcloud with two-step login) need an app-specific password made in "
                     "the account's security settings, not the one you sign in with.")


@dataclass(frozen=True)
class DavItem:
    """One <response> of a multistatus: its absolute URL, status and the properties found."""

    url: str
    status: int
    props: dict[str, ET.Element] = field(default_factory=dict)

    def text(self, name: str) -> str:
        element = self.props.get(name)
        return (element.text or "").strip() if element is not None else ""

    def hrefs(self, name: str) -> list[str]:
        element = self.props.get(name)
        if element is None:
            return []
        return [(h.text or "").strip() for h in element.iter(f"{{{DAV}}}href") if h.text]


@dataclass(frozen=True)
class DavResponse:
    url: str  # the address that answered, after redirects
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")

    def multistatus(self) -> list[DavItem]:
        """The <response>s of a 207 answer; an unreadable body is the server's error."""
        try:
            root = ET.fromstring(self.body)  # noqa: S314 (see the import)
        except ET.ParseError as exc:
            raise SourceError(f"The server at {host_of(self.url)} answered with XML calsync "
                              "could not read.", "Check that the address is a CalDAV server."
                              ) from exc
        return [_item(self.url, node) for node in root.iter(f"{{{DAV}}}response")]

    def sync_token(self) -> str:
        try:
            root = ET.fromstring(self.body)  # noqa: S314 (see the import)
        except ET.ParseError:
            return ""
        found = root.find(f"{{{DAV}}}sync-token")
        return (found.text or "").strip() if found is not None else ""


def _item(base: str, node: ET.Element) -> DavItem:
    href = unquote((node.findtext(f"{{{DAV}}}href") or "").strip())
    url = urljoin(base, href)
    status = _status(node.findtext(f"{{{DAV}}}status"))
    props: dict[str, ET.Element] = {}
    for propstat in node.iter(f"{{{DAV}}}propstat"):
        if _status(propstat.findtext(f"{{{DAV}}}status")) != 200:
            continue  # a property the server lacks comes back 404: not found is not empty
        for prop in propstat.iter(f"{{{DAV}}}prop"):
            props.update({child.tag: child for child in prop})
    return DavItem(url, status or 200, props)


def _status(line: str | None) -> int:
    parts = (line or "").split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def host_of(url: str) -> str:
    return urlsplit(url).hostname or url


def calendar_label(url: str) -> str:
    """A calendar's address as a name for messages: its last path segment."""
    return url.rstrip("/").rsplit("/", 1)[-1] or url


def same_resource(a: str, b: str) -> bool:
    """Two addresses of one collection or item (servers differ on the trailing slash)."""
    return unquote(a).rstrip("/") == unquote(b).rstrip("/")


class DavClient:
    """A user's CalDAV account: basic auth, every request guarded and bounded in time."""

    def __init__(self, settings: Settings, username: str, password: str) -> None:
        self.settings = settings
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._auth = f"Basic {token}"

    def request(self, method: str, url: str, body: bytes | str = b"",
                headers: dict[str, str] | None = None, *, follow: bool = False) -> DavResponse:
        """One request (redirects followed only when `follow`, each hop guarded again).

        Answers of any status come back; only failures to get one raise SourceError.
        """
        data = body.encode() if isinstance(body, str) else body
        sent = {"User-Agent": USER_AGENT, "Authorization": self._auth, **(headers or {})}
        exchange = Exchange(self.settings.fetch_timeout_seconds,
                            guard=not self.settings.allow_private_urls,
                            exempt=self.settings.caldav_demo_address)
        current = normalize_url(url)
        origin = _origin(current)
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            if "Authorization" in sent and parts.scheme == "http":
                self._refuse_clear_text(exchange, parts.hostname or "", parts.port or 80)
            with exchange.pool(parts.scheme, parts.hostname or "", parts.port) as pool:
                response = self._send(pool, exchange, method, current, data, sent)
                try:
                    location = response.headers.get("Location", "")
                    if follow and response.status in _REDIRECTS and location:
                        current = normalize_url(urljoin(current, location))
                        if _origin(current) != origin:
                            # As curl and requests do: the password is for the server typed,
                            # never for wherever it (or an open redirect on it) points.
                            sent.pop("Authorization", None)
                        continue
                    payload = read_body(response, exchange, self.settings, parts.hostname or "")
                    return DavResponse(current, response.status, dict(response.headers), payload)
                finally:
                    response.close()
                    response.release_conn()
        raise SourceError(f"The server at {host_of(url)} redirected more than {MAX_REDIRECTS} "
                          "times.", "Use the address your provider documents for CalDAV.")

    def _refuse_clear_text(self, exchange: Exchange, host: str, port: int) -> None:
        """Refuse to send the password over plain http to a public address: it would cross
        the internet readable by anyone on the way. Loopback and private networks (tests,
        the demo, a NAS at home) may use http where the address guard lets them through."""
        try:
            addresses = [str(info[4][0]) for info in resolve(host, port, exchange.remaining())]
        except (OSError, UnicodeError):
            return  # not resolvable: the connection fails with its own, better message
        if any(is_public_address(address) for address in addresses):
            raise SourceError(f"calsync does not send your password to {host} over plain "
                              "http://: anyone on the way could read it.",
                              "Use the server's https:// address.")

    def _send(self, pool: urllib3.HTTPConnectionPool, exchange: Exchange, method: str,
              url: str, data: bytes, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        parts = urlsplit(url)
        host = parts.hostname or url
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            return pool.urlopen(method, target, body=data or None, headers=headers,
                                redirect=False, retries=False, preload_content=False,
                                assert_same_host=False, timeout=exchange.timeout())
        except RefusedAddress as exc:
            raise refusal(exc.shown) from None
        except NewConnectionError as exc:
            raise connection_error(exc, host) from exc
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise timed_out(host, self.settings) from exc
        except (HTTPError, OSError) as exc:
            if exchange.expired:
                raise timed_out(host, self.settings) from exc
            raise connection_error(exc, host) from exc

    def xml(self, method: str, url: str, body: str, depth: str, *,
            follow: bool = False) -> DavResponse:
        """A PROPFIND or REPORT; any answer but 207 is left to the caller."""
        return self.request(method, url, body, {"Depth": depth,
                                                "Content-Type": "application/xml; charset=utf-8"},
                            follow=follow)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return (parts.scheme, parts.hostname or "", parts.port
            or {"http": 80, "https": 443}.get(parts.scheme))


def refused(response: DavResponse, label: str, doing: str = "read") -> SourceError:
    """The SourceError for a non-success answer to a request about `label`."""
    status, host = response.status, host_of(response.url)
    log.warning("caldav: could not %s %s at %s: HTTP %s", doing, label, host, status)
    if status == 403 and doing in WRITING:
        # The password was good enough to read: the calendar is shared read-only.
        return SourceError(f"calsync may not add events to “{label}” at {host} (HTTP 403).",
                           "Pick a calendar you own to receive follow-ups.")
    if status in (401, 403):
        return SourceError(f"The CalDAV server at {host} refused the user name or password "
                           f"(HTTP {status}).", CREDENTIALS_HINT,
                           status=SourceStatus.NEEDS_RECONNECT)
    if status in (404, 410):
        return SourceError(f"The calendar “{label}” is no longer on the server at {host} "
                           f"(HTTP {status}).", "Pick the calendars to use again.",
                           status=SourceStatus.DISABLED)
    if status == 429 or status >= 500:
        return SourceUnavailable(f"The CalDAV server at {host} could not {doing} “{label}” "
                                 f"just now (HTTP {status}).", "calsync will try again later.")
    return SourceError(f"The CalDAV server at {host} refused to let calsync {doing} "
                       f"“{label}” (HTTP {status}).")

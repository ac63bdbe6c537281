"""Finding a CalDAV account's calendars from whatever address the user typed: a server, a
principal or one calendar (RFC 4791 §6, RFC 5397, RFC 6764 well-known URI, RFC 6638's
default calendar)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

from calsync.errors import SourceError
from calsync.providers.caldav_http import (
    CALDAV,
    DAV,
    DavClient,
    DavItem,
    DavResponse,
    calendar_label,
    host_of,
    refused,
    same_resource,
)

_PROPS = ("<D:current-user-principal/><D:resourcetype/><D:displayname/>"
          "<C:calendar-home-set/><C:schedule-inbox-URL/><C:supported-calendar-component-set/>"
          "<D:current-user-privilege-set/>")
CALENDAR = f"{{{CALDAV}}}calendar"
# RFC 3744 privileges that let calsync add an event (all and write contain the others).
_ADDING = {f"{{{DAV}}}{name}" for name in ("all", "write", "write-content", "bind")}


@dataclass(frozen=True)
class Calendar:
    url: str
    name: str
    writable: bool = True  # the user may add events (RFC 3744); unsaid counts as may


@dataclass(frozen=True)
class Account:
    """What discovery found: the account's principal (one address whatever the user typed to
    reach it), the calendars (by address) and the one that receives follow-ups."""

    principal_url: str
    calendars: list[Calendar]
    default_url: str


def propfind_body(props: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="{DAV}" '
            f'xmlns:C="{CALDAV}"><D:prop>{props}</D:prop></D:propfind>')


def discover(client: DavClient, url: str) -> Account:
    """The account at `url`; raises SourceError (needs reconnect for refused credentials)."""
    start, answer = _find(client, url)
    if start is None:
        parts = urlsplit(url)
        start, answer = _find(client, urlunsplit((parts.scheme, parts.netloc,
                                                  "/.well-known/caldav", "", "")))
    if start is None and answer.status == 403:
        raise refused(answer, host_of(url), "sign in to")
    if start is None:
        raise SourceError(f"The address does not lead to a CalDAV server at {host_of(url)}.",
                          "Use the CalDAV address your calendar provider documents, for "
                          "example https://caldav.icloud.com/ or "
                          "https://cloud.example.com/remote.php/dav.")
    if _is_calendar(start):  # the user gave one calendar: that one is read and written
        calendar = _calendar(start)
        owner = next(iter(start.hrefs(f"{{{DAV}}}current-user-principal")), start.url)
        return Account(urljoin(start.url, owner), [calendar], calendar.url)
    principal = _principal(client, start)
    homes = principal.hrefs(f"{{{CALDAV}}}calendar-home-set") or [principal.url]
    calendars: list[Calendar] = []
    for home in homes:
        calendars += _calendars(client, urljoin(principal.url, home))
    if not calendars:
        raise SourceError(f"The CalDAV account at {host_of(url)} has no calendars.",
                          "Make a calendar in your calendar app first.")
    calendars.sort(key=lambda c: c.url)
    default = _default(client, principal, calendars)
    if not next(c for c in calendars if c.url == default).writable:
        default = next((c.url for c in calendars if c.writable), default)
    return Account(principal.url, calendars, default)


def _find(client: DavClient, url: str) -> tuple[DavItem | None, DavResponse]:
    """`url`'s own properties when it speaks CalDAV (or WebDAV with a principal), else None.

    A 403 is no verdict yet: servers forbid addresses outside the user's own space.
    """
    # Discovery follows redirects (the well-known URI is one), each hop checked again.
    response = client.xml("PROPFIND", url, propfind_body(_PROPS), "0", follow=True)
    if response.status == 401:
        raise refused(response, host_of(url), "sign in to")
    return _self_item(response), response


def _self_item(response: DavResponse) -> DavItem | None:
    if response.status != 207:
        return None
    items = response.multistatus()
    item = next((i for i in items if same_resource(i.url, response.url)), items[0] if items
                else None)
    if item is None or not (_is_calendar(item) or item.hrefs(f"{{{DAV}}}current-user-principal")
                            or item.hrefs(f"{{{CALDAV}}}calendar-home-set")):
        return None
    return item


def _principal(client: DavClient, start: DavItem) -> DavItem:
    href = next(iter(start.hrefs(f"{{{DAV}}}current-user-principal")), "")
    if not href or same_resource(urljoin(start.url, href), start.url):
        return start
    response = client.xml("PROPFIND", urljoin(start.url, href), propfind_body(_PROPS), "0",
                          follow=True)
    if response.status != 207:
        raise refused(response, "your account", "find the calendars of")
    return _self_item(response) or start


def _calendars(client: DavClient, home: str) -> list[Calendar]:
    response = client.xml("PROPFIND", home, propfind_body(_PROPS), "1")
    if response.status != 207:
        raise refused(response, "your calendars", "list")
    return [_calendar(item) for item in response.multistatus()
            if _is_calendar(item) and _has_events(item)]


def _calendar(item: DavItem) -> Calendar:
    privileges = item.props.get(f"{{{DAV}}}current-user-privilege-set")
    writable = privileges is None or any(p.tag in _ADDING for p in privileges.iter())
    return Calendar(item.url, item.text(f"{{{DAV}}}displayname") or calendar_label(item.url),
                    writable=writable)


def _is_calendar(item: DavItem) -> bool:
    kind = item.props.get(f"{{{DAV}}}resourcetype")
    return kind is not None and kind.find(CALENDAR) is not None


def _has_events(item: DavItem) -> bool:
    """Task lists and journals are calendars too; only those that hold events count."""
    components = item.props.get(f"{{{CALDAV}}}supported-calendar-component-set")
    if components is None or len(components) == 0:
        return True  # not said: any component
    return any(c.get("name", "").upper() == "VEVENT" for c in components)


def _default(client: DavClient, principal: DavItem, calendars: list[Calendar]) -> str:
    """RFC 6638's schedule-default-calendar-URL (on the scheduling inbox), else the first."""
    inbox = next(iter(principal.hrefs(f"{{{CALDAV}}}schedule-inbox-URL")), "")
    if inbox:
        response = client.xml("PROPFIND", urljoin(principal.url, inbox),
                              propfind_body("<C:schedule-default-calendar-URL/>"), "0")
        if response.status == 207:
            for item in response.multistatus():
                for href in item.hrefs(f"{{{CALDAV}}}schedule-default-calendar-URL"):
                    found = urljoin(item.url, href)
                    match = next((c for c in calendars if same_resource(c.url, found)), None)
                    if match is not None:
                        return match.url
    return calendars[0].url

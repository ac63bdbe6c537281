"""The CalDAV provider (iCloud, Fastmail, Nextcloud, Radicale…): reads the calendars picked
and writes follow-ups into one of them, over calsync's own guarded WebDAV requests.

Reads are incremental by WebDAV sync-collection (RFC 6578): one REPORT per calendar when
nothing changed. A server without sync tokens is compared by ETags of the window's items
(one calendar-query per calendar); a full read of the window happens first, when a token is
refused, when the window slides a day, and when a repeating event changes (its old
occurrences can only be told apart by reading the series whole). Writes PUT to an address
derived from the follow-up with If-None-Match / If-Match, so retries never duplicate and
never overwrite a stranger's event.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import SourceError
from calsync.providers.base import (
    BaseProvider,
    ChangeSet,
    OutgoingEvent,
    ReadContext,
    RemoteEvent,
    SourceRef,
)
from calsync.providers.caldav_discovery import discover, propfind_body
from calsync.providers.caldav_http import (
    CALDAV,
    DAV,
    DavClient,
    DavItem,
    calendar_label,
    host_of,
    refused,
)
from calsync.providers.caldav_ical import ItemRead, read_item
from calsync.providers.caldav_write import delete_event, write_event
from calsync.providers.ics_parse import Limits

log = logging.getLogger(__name__)

ETAG = f"{{{DAV}}}getetag"
DATA = f"{{{CALDAV}}}calendar-data"
# The option saying whether the user chose the calendars read: until then every calendar
# the account has is read, those made later too (found again on each full read). Sources
# connected before the option existed count as chosen: nobody knows whether they were.
CHOSEN = "calendars_chosen"
# One stored object as the cursor remembers it: [etag, uid, flags] ("r" repeats, "o" ours,
# "x" ours and outside the window when last read).
Items = dict[str, list[str]]


class FullReadNeeded(Exception):
    """The incremental answer can't be applied on its own: read the window whole."""


def client_for(settings: Settings, source: SourceRef) -> DavClient:
    credentials = source.credentials or {}
    return DavClient(settings, str(credentials.get("username", "")),
                     str(credentials.get("password", "")))


class CaldavProvider(BaseProvider):
    """Reads `options["calendars_read"]`, writes to `options["calendar_written"]` (URLs)."""

    name = "caldav"
    read_only = False
    supports_push = False
    supports_write = True

    def find_account(self, source: SourceRef) -> dict[str, Any]:
        """The account at `source.url`, whatever of it was typed (server, principal or a
        calendar): "principal" (its one address) and "calendars", each with id (the
        collection's URL), name, default (the one that receives follow-ups until the user
        picks) and writable (the user may add events).

        Raises SourceError: needs_reconnect for refused credentials, else with the reason
        the address is not a CalDAV account.
        """
        account = discover(client_for(self.settings, source), source.url)
        return {"principal": account.principal_url, "calendars": [
            {"id": c.url, "name": c.name, "default": c.url == account.default_url,
             "writable": c.writable} for c in account.calendars]}

    def list_calendars(self, source: SourceRef) -> list[dict[str, Any]]:
        """The account's calendars, as find_account gives them, for the picker."""
        calendars: list[dict[str, Any]] = self.find_account(source)["calendars"]
        return calendars

    # reading

    def _read(self, source: SourceRef, cursor: dict[str, Any], context: ReadContext) -> ChangeSet:
        client = client_for(self.settings, source)
        picked = sorted(str(c) for c in source.options.get("calendars_read") or [])
        chosen = bool(picked) and source.options.get(CHOSEN, True)
        window_end = context.window_end.date().isoformat()
        states = cursor.get("calendars") or {}
        # Not chosen: the calendars the last full read found, until the picker lists others.
        same = set(states) == set(picked) if chosen else cursor.get("picked") == picked
        if states and same and cursor.get("window_end") == window_end:
            try:
                changes = self._incremental(client, list(states), states, context, window_end)
                return _gone(source, changes, picked)
            except FullReadNeeded as why:
                log.info("source %s: reading the window in full (%s)", source.id, why)
        calendars = picked if chosen else self._every(client, source)
        return _gone(source, self._full(client, calendars, context, window_end), picked)

    def _every(self, client: DavClient, source: SourceRef) -> list[str]:
        """Every calendar the account has now, and the one written to (told when gone)."""
        written = str(source.options.get("calendar_written") or "")
        found = [c.url for c in discover(client, source.url).calendars]
        return list(dict.fromkeys([*found, *([written] if written else [])]))

    def _full(self, client: DavClient, calendars: list[str], context: ReadContext,
              window_end: str) -> ChangeSet:
        changes = ChangeSet(complete=True)
        states: dict[str, dict[str, Any]] = {}
        for calendar in calendars:
            try:
                token = self._current_token(client, calendar)
                found = self._report(client, calendar, _query(context, with_data=True))
            except SourceError as error:
                if error.status is not SourceStatus.DISABLED:
                    raise
                states[calendar] = {"gone": error.reason}  # see _gone
                continue
            items: Items = {}
            for item in found:
                read = self._read_item(item, context, changes)
                if read is not None:
                    items[item.url] = [item.text(ETAG), read.uid, _flags(read, context)]
                    changes.meetings += read.meetings
            states[calendar] = {"token": token, "items": items}
        changes.cursor = {"calendars": states, "window_end": window_end}
        return changes

    def _incremental(self, client: DavClient, calendars: list[str],
                     states: dict[str, Any], context: ReadContext,
                     window_end: str) -> ChangeSet:
        changes = ChangeSet(complete=False)
        new_states: dict[str, dict[str, Any]] = {}
        any_change = False
        for calendar in calendars:
            state = states[calendar]
            if state.get("gone"):
                new_states[calendar] = state
                continue
            items: Items = {k: list(v) for k, v in (state.get("items") or {}).items()}
            try:
                token, changed, removed = self._changes(client, calendar, state, items, context)
            except SourceError as error:
                if error.status is SourceStatus.DISABLED:  # its meetings go in a full read
                    raise FullReadNeeded("a calendar is gone") from error
                raise
            for url in removed:
                record = items.pop(url, None)
                if record is not None:
                    if "r" in record[2]:
                        raise FullReadNeeded("a repeating event was deleted")
                    changes.deleted.append((record[1], ""))
            found = self._multiget(client, calendar, changed)
            for url in set(changed) - {item.url for item in found}:  # deleted meanwhile
                record = items.pop(url, None)
                if record is not None:
                    changes.deleted.append((record[1], ""))
            for item in found:
                read = self._read_item(item, context, changes)
                if read is None:
                    continue
                if read.recurring or "r" in (items.get(item.url) or ["", "", ""])[2]:
                    raise FullReadNeeded("a repeating event changed")
                items[item.url] = [item.text(ETAG), read.uid, _flags(read, context)]
                changes.meetings += read.meetings
                if not read.meetings and read.uid:
                    changes.deleted.append((read.uid, ""))  # moved out of the window
            any_change = any_change or bool(changed or removed)
            new_states[calendar] = {"token": token, "items": items}
        changes.cursor = {"calendars": new_states, "window_end": window_end}
        if not any_change:
            changes.unchanged = True
            return changes
        # The same invitation can sit in two calendars read: present in one beats gone in one.
        present = {m.uid for m in changes.meetings}
        changes.deleted = [k for k in dict.fromkeys(changes.deleted) if k[0] not in present]
        return changes

    def _changes(self, client: DavClient, calendar: str, state: dict[str, Any], items: Items,
                 context: ReadContext) -> tuple[str, list[str], list[str]]:
        """(new token, changed item URLs, removed item URLs) since the stored state."""
        token = str(state.get("token") or "")
        if token:
            response = client.xml("REPORT", calendar, _sync_body(token), "0")  # RFC 6578
            if response.status == 207:
                changed, removed = [], []
                for item in _members(calendar, response.multistatus()):
                    if item.status in (404, 410):
                        removed.append(item.url)
                    elif (items.get(item.url) or [""])[0] != item.text(ETAG) or not item.text(
                            ETAG):
                        changed.append(item.url)
                return response.sync_token() or token, changed, removed
            if response.status in (401, 404, 410) or response.status >= 500 or (
                    response.status == 403 and b"valid-sync-token" not in response.body):
                raise refused(response, calendar_label(calendar))
            raise FullReadNeeded(f"the sync token was refused (HTTP {response.status})")
        # No sync tokens at this server: compare the ETags of the window's items.
        listed = {i.url: i.text(ETAG) for i in self._report(client, calendar,
                                                            _query(context, with_data=False))}
        changed = [url for url, etag in listed.items() if (items.get(url) or [""])[0] != etag]
        gone = [url for url in items if url not in listed]
        removed = [url for url in gone if "o" not in items[url][2]]
        # calsync's own events are followed out of the window: read once when they leave it
        # (moved far, or deleted: the multiget then lacks them), then kept as last read, so
        # an idle sync stays one request per calendar.
        changed += [url for url in gone if url not in removed and "x" not in items[url][2]]
        return "", changed, removed

    def _current_token(self, client: DavClient, calendar: str) -> str:
        response = client.xml("PROPFIND", calendar, propfind_body("<D:sync-token/>"), "0")
        if response.status != 207:
            raise refused(response, calendar_label(calendar))
        return next((i.text(f"{{{DAV}}}sync-token") for i in response.multistatus()), "")

    def _report(self, client: DavClient, calendar: str, body: str) -> list[DavItem]:
        response = client.xml("REPORT", calendar, body, "1")
        if response.status != 207:
            raise refused(response, calendar_label(calendar))
        return _members(calendar, response.multistatus())

    def _multiget(self, client: DavClient, calendar: str, urls: list[str]) -> list[DavItem]:
        if not urls:
            return []
        hrefs = "".join(f"<D:href>{_escape(u)}</D:href>" for u in urls)
        body = (f'<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="{DAV}" '
                f'xmlns:C="{CALDAV}"><D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}'
                "</C:calendar-multiget>")
        return [i for i in self._report(client, calendar, body) if i.status == 200]

    def _read_item(self, item: DavItem, context: ReadContext,
                   changes: ChangeSet) -> ItemRead | None:
        """One object's meetings; a malformed one is skipped with a warning (None)."""
        data = item.text(DATA).encode()
        try:
            read = read_item(data, item.text(ETAG), context, Limits.from_settings(self.settings))
        except SourceError as exc:
            changes.warnings.append(f"Skipped {item.url.rsplit('/', 1)[-1]}: {exc.reason}")
            return None
        changes.warnings += read.warnings
        return read

    # writing

    def _write_event(self, source: SourceRef, event: OutgoingEvent) -> RemoteEvent:
        return write_event(client_for(self.settings, source), event,
                           _name(source, event.calendar_id))

    def _delete_event(self, source: SourceRef, calendar_id: str, event_id: str) -> None:
        delete_event(client_for(self.settings, source), calendar_id, event_id,
                     _name(source, calendar_id))


def _name(source: SourceRef, calendar: str) -> str:
    """A calendar's name for messages: as the account lists it, else its address's end."""
    names = source.options.get("calendar_names") or {}
    return str(names.get(calendar) or calendar_label(calendar))


def _gone(source: SourceRef, changes: ChangeSet, picked: list[str]) -> ChangeSet:
    """Calendars read that are no longer on the server are left out with a warning; the
    source stops (disabled) only when follow-ups lose their calendar or nothing is left.
    The cursor notes the calendars `picked` it was read for."""
    changes.cursor["picked"] = picked
    states = changes.cursor["calendars"]
    gone = [calendar for calendar, state in states.items() if state.get("gone")]
    if not gone:
        return changes
    written = str(source.options.get("calendar_written") or "")
    lost = written if written in gone else gone[0]
    if written in gone or len(gone) == len(states):
        raise SourceError(f"The calendar “{_name(source, lost)}” is no longer on the server "
                          f"at {host_of(source.url)}.", "Pick the calendars to use again.",
                          status=SourceStatus.DISABLED)
    changes.warnings += [f"The calendar “{_name(source, calendar)}” is no longer on the "
                         "server, so calsync stopped reading it. Pick the calendars to use "
                         "again." for calendar in gone]
    return changes


def _members(calendar: str, items: list[DavItem]) -> list[DavItem]:
    """The items inside `calendar`: not the collection itself, nor anything a server names
    elsewhere (calsync fetches what it is told to, so it only follows its own calendar)."""
    inside = calendar.rstrip("/") + "/"
    return [i for i in items if i.url.startswith(inside) and i.url != inside]


def _flags(read: ItemRead, context: ReadContext) -> str:
    outside = read.own and not any(m.start < context.window_end and m.end > context.window_start
                                   for m in read.meetings)
    return ("r" if read.recurring else "") + ("o" if read.own else "") + ("x" if outside else "")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sync_body(token: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="{DAV}">'
            f"<D:sync-token>{_escape(token)}</D:sync-token><D:sync-level>1</D:sync-level>"
            "<D:prop><D:getetag/></D:prop></D:sync-collection>")


def _query(context: ReadContext, *, with_data: bool) -> str:
    """calendar-query for the VEVENTs that touch the window (the server expands rules)."""
    start, end = (f"{m.astimezone(UTC):%Y%m%dT%H%M%SZ}"
                  for m in (context.window_start, context.window_end))
    data = "<C:calendar-data/>" if with_data else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="{DAV}" '
            f'xmlns:C="{CALDAV}"><D:prop><D:getetag/>{data}</D:prop><C:filter>'
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f'<C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter>'
            "</C:filter></C:calendar-query>")

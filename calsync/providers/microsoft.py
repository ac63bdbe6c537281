"""The Microsoft 365 / Outlook provider: one connected account through Microsoft Graph,
reading the calendars it picked and writing follow-ups into one of them.

Reads are `calendarView/delta` rounds per calendar over calsync's window: every page of the
first round, then only the stored deltaLink (an idle sync is one request per calendar). A
410 (`syncStateNotFound`), a change of the calendars read, or the daily window move reads
the window in full, which reconciles deletions. Writes carry a transactionId derived from
the follow-up (a retried create finds its first event) and update with If-Match.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from calsync.domain.meeting import MeetingData
from calsync.providers.base import (
    BaseProvider,
    ChangeSet,
    OpenedChannel,
    OutgoingEvent,
    PushChannelSpec,
    ReadContext,
    RemoteEvent,
    SourceRef,
)
from calsync.providers.microsoft_events import (
    occurrence_key,
    own_mark,
    to_meeting,
)
from calsync.providers.microsoft_graph import (
    IN_UTC,
    Graph,
    calendar_path,
    error_code,
    finish_flow,
    source_error,
    start_flow,
)
from calsync.providers.microsoft_write import (
    delete,
    reauthorize,
    subscribe,
    unsubscribe,
    write,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Prefer: odata.maxpagesize; a module constant so tests can page small


class DeltaExpired(Exception):
    """Graph answered 410 syncStateNotFound: the delta link is gone, read in full."""


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MicrosoftProvider(BaseProvider):
    """Reads `options["calendars_read"]`, writes to `options["calendar_written"]` (Graph
    calendar ids); until the user picks, both are the account's default calendar."""

    name = "microsoft"
    read_only = False
    supports_push = True  # a Graph subscription per calendar read is its push channel
    supports_write = True

    # connecting: what calsync's Microsoft services ask of the account, through the registry

    def list_calendars(self, source: SourceRef) -> list[dict[str, Any]]:
        """The account's calendars for the picker: id, name, primary (the default), writable.
        Refreshed tokens land back in `source.credentials`."""
        with Graph(self.settings, source.credentials) as graph:
            return _calendars(graph)

    def start_flow(self, redirect_uri: str, state: str, login_hint: str = "",
                   prompt: str | None = None) -> dict[str, Any]:
        """Begin an OAuth round trip (msal's flow dict: `auth_uri`, `code_verifier`, `nonce`)."""
        return start_flow(self.settings, redirect_uri, state, login_hint, prompt)

    def finish_flow(self, flow: dict[str, Any], answer: dict[str, str]) -> dict[str, Any]:
        """Redeem the callback's answer: msal's result, or SourceError."""
        return finish_flow(self.settings, flow, answer)

    # reading

    def _read(self, source: SourceRef, cursor: dict[str, Any], context: ReadContext) -> ChangeSet:
        calendars = [str(c) for c in source.options.get("calendars_read") or []]
        window = [_stamp(context.window_start), _stamp(context.window_end)]
        window_key = window[1][:10]
        states = cursor.get("calendars") or {}
        account = str(source.options.get("account") or "").lower()
        with Graph(self.settings, source.credentials) as graph:
            if (cursor.get("window_end") == window_key and calendars
                    and all((states.get(c) or {}).get("delta_link") for c in calendars)):
                try:
                    return self._incremental(graph, source, states, calendars, context,
                                             account, window_key)
                except DeltaExpired:
                    log.info("source %s: delta link expired, reading in full", source.id)
            return self._full(graph, source, calendars, context, account, window, window_key)

    def _full(self, graph: Graph, source: SourceRef, calendars: list[str],
              context: ReadContext, account: str, window: list[str],
              window_key: str) -> ChangeSet:
        meetings: list[MeetingData] = []
        states: dict[str, dict[str, Any]] = {}
        for calendar_id in calendars:
            start = (f"{calendar_path(calendar_id)}/calendarView/delta?startDateTime="
                     f"{quote(window[0])}&endDateTime={quote(window[1])}")
            items, link = self._round(graph, source, calendar_id, start)
            present = [i for i in items if "@removed" not in i]
            states[calendar_id] = {"delta_link": link, "occurrences": _occurrences(present)}
            meetings += [to_meeting(i, context.timezone, account) for i in present]
        # A delta round may list an item twice (it changed while being paged): the last
        # copy wins. A meeting in two calendars read has an id in each, and stays twice.
        unique = list({m.key: m for m in meetings}.values())
        return ChangeSet(meetings=unique, cursor={"calendars": states, "window_end": window_key},
                         complete=True)

    def _incremental(self, graph: Graph, source: SourceRef, states: dict[str, Any],
                     calendars: list[str], context: ReadContext, account: str,
                     window_key: str) -> ChangeSet:
        meetings: list[MeetingData] = []
        deleted: list[tuple[str, str]] = []
        new_states: dict[str, dict[str, Any]] = {}
        seen_any = False
        for calendar_id in calendars:
            state = states[calendar_id]
            items, link = self._round(graph, source, calendar_id, str(state["delta_link"]))
            known: dict[str, list[str]] = dict(state.get("occurrences") or {})
            seen_any = seen_any or bool(items)
            for item in items:
                if "@removed" in item:
                    found = self._removed(graph, item, known, context, account)
                    if isinstance(found, MeetingData):
                        meetings.append(found)
                    else:
                        deleted.append(found)
                    continue
                meetings.append(to_meeting(item, context.timezone, account))
            known.update(_occurrences([i for i in items if "@removed" not in i]))
            new_states[calendar_id] = {"delta_link": link, "occurrences": known}
        cursor = {"calendars": new_states, "window_end": window_key}
        if not seen_any:
            return ChangeSet(cursor=cursor, complete=False, unchanged=True)
        present = {m.key for m in meetings}
        deleted = [key for key in dict.fromkeys(deleted) if key not in present]
        return ChangeSet(meetings=list({m.key: m for m in meetings}.values()), deleted=deleted,
                         cursor=cursor, complete=False)

    def _removed(self, graph: Graph, item: dict[str, Any], known: dict[str, list[str]],
                 context: ReadContext, account: str) -> MeetingData | tuple[str, str]:
        """An `@removed` item: deleted, or (Graph says so of events changed outside the
        window too) moved away. calsync's own follow-up is followed wherever it went; anyone
        else's meeting outside the window counts as gone here."""
        item_id = str(item["id"])
        occurrence = known.pop(item_id, None)
        if occurrence is not None:
            return occurrence[0], occurrence[1]
        response = graph.call("GET", f"me/events/{quote(item_id, safe='')}",
                              headers={"Prefer": IN_UTC})
        if response.status_code == 200:
            current = response.json()
            if own_mark(current):
                return to_meeting(current, context.timezone, account)
            return occurrence_key(current)
        return item_id, ""

    def _round(self, graph: Graph, source: SourceRef, calendar_id: str,
               link: str) -> tuple[list[dict[str, Any]], str]:
        """Every page of one delta round; the next delta link arrives with the last page."""
        items: list[dict[str, Any]] = []
        headers = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}, {IN_UTC}"}
        while True:
            response = graph.call("GET", link, headers=headers)
            if response.status_code == 410 or error_code(response) == "syncStateNotFound":
                raise DeltaExpired
            if response.status_code != 200:
                raise source_error(response, _label(source, calendar_id))
            page = response.json()
            items += page.get("value") or []
            if page.get("@odata.nextLink"):
                link = str(page["@odata.nextLink"])
                continue
            return items, str(page.get("@odata.deltaLink") or "")

    # writing (calsync.providers.microsoft_write)

    def _write_event(self, source: SourceRef, event: OutgoingEvent) -> RemoteEvent:
        with Graph(self.settings, source.credentials) as graph:
            return write(graph, event, _label(source, event.calendar_id))

    def _delete_event(self, source: SourceRef, calendar_id: str, event_id: str) -> None:
        with Graph(self.settings, source.credentials) as graph:
            delete(graph, calendar_id, event_id, _label(source, calendar_id))

    # change notifications: a subscription per calendar is calsync's push channel

    def _open_channel(self, source: SourceRef, spec: PushChannelSpec) -> OpenedChannel:
        with Graph(self.settings, source.credentials) as graph:
            return subscribe(graph, spec, self.settings.microsoft_subscription_hours,
                             _label(source, spec.calendar_id))

    def _close_channel(self, source: SourceRef, channel_id: str, resource_id: str) -> None:
        with Graph(self.settings, source.credentials) as graph:
            unsubscribe(graph, resource_id)

    def reauthorize(self, source: SourceRef, subscription_id: str) -> None:
        """Answer Graph's `reauthorizationRequired`: the subscription goes on with a fresh
        token (an expired or removed one: SourceError, and the renewal opens another)."""
        with Graph(self.settings, source.credentials) as graph:
            reauthorize(graph, subscription_id)


def _calendars(graph: Graph) -> list[dict[str, Any]]:
    """The account's calendars for the picker: id, name, default, writable."""
    calendars: list[dict[str, Any]] = []
    link = "me/calendars?$top=100"
    while link:
        response = graph.call("GET", link)
        if response.status_code != 200:
            raise source_error(response, "your calendar list", "list")
        page = response.json()
        calendars += [{"id": str(entry["id"]), "name": str(entry.get("name") or entry["id"]),
                       "primary": bool(entry.get("isDefaultCalendar")),
                       "writable": bool(entry.get("canEdit", True))}
                      for entry in page.get("value") or []]
        link = str(page.get("@odata.nextLink") or "")
    return calendars


def _occurrences(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Occurrence id → its key: Graph's `@removed` names only the id, and an occurrence is
    stored under its series and original start."""
    found = {}
    for item in items:
        key = occurrence_key(item)
        if key[1]:
            found[str(item["id"])] = [key[0], key[1]]
    return found


def _label(source: SourceRef, calendar_id: str) -> str:
    names = source.options.get("calendar_names") or {}
    return str(names.get(calendar_id) or calendar_id)


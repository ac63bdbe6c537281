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
from datetime import UTC, datetime, timedelta
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
    TRANSACTION_PREFIX,
    event_body,
    followup_of,
    occurrence_key,
    own_mark,
    to_meeting,
    transaction_id,
)
from calsync.providers.microsoft_graph import (
    Graph,
    error_code,
    finish_flow,
    source_error,
    start_flow,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Prefer: odata.maxpagesize; a module constant so tests can page small
PATCH_TRIES = 3  # a 412 means someone edited meanwhile: read, re-apply, try again
IN_UTC = 'outlook.timezone="UTC"'
LIFECYCLE_SUFFIX = "/lifecycle"  # lifecycle notifications arrive beside the change ones


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
            start = (f"{_calendar_path(calendar_id)}/calendarView/delta?startDateTime="
                     f"{quote(window[0])}&endDateTime={quote(window[1])}")
            items, link = self._round(graph, source, calendar_id, start)
            present = [i for i in items if "@removed" not in i]
            states[calendar_id] = {"delta_link": link, "occurrences": _occurrences(present)}
            meetings += [to_meeting(i, context.timezone, account) for i in present]
        # The same meeting can sit in two calendars read (an invitation): keep it once.
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

    # writing

    def _write_event(self, source: SourceRef, event: OutgoingEvent) -> RemoteEvent:
        label = _label(source, event.calendar_id)
        with Graph(self.settings, source.credentials) as graph:
            if event.etag:
                body = event_body(event, with_times=event.times_changed)
                updated = self._patch(graph, event, body, event.etag, label)
                if updated is not None:
                    return updated
                # Gone without a trace: write it afresh (a new transactionId round).
            return self._create(graph, event, label)

    def _create(self, graph: Graph, event: OutgoingEvent, label: str) -> RemoteEvent:
        body = {**event_body(event), "transactionId": transaction_id(event)}
        response = graph.call("POST", f"{_calendar_path(event.calendar_id)}/events", json=body,
                              headers={"Prefer": IN_UTC})
        if response.status_code not in (200, 201):
            raise source_error(response, label, "write to")
        created = response.json()
        if created.get("subject") != body["subject"] or _moved(created, body):
            # The transactionId found an event an earlier try made from an older version
            # of the follow-up: bring it up to date.
            updated = self._patch(graph, event, event_body(event), str(created["@odata.etag"]),
                                  label, str(created["id"]))
            if updated is not None:
                return updated
        return RemoteEvent(event.calendar_id, str(created["id"]), str(created["@odata.etag"]))

    def _patch(self, graph: Graph, event: OutgoingEvent, body: dict[str, Any], etag: str,
               label: str, event_id: str = "") -> RemoteEvent | None:
        """PATCH with If-Match; a 412 re-reads and tries again (without `start`/`end` when
        calsync's times did not change, so a move the user made stays). None: gone."""
        path = f"me/events/{quote(event_id or event.event_id, safe='')}"
        for attempt in range(1, PATCH_TRIES + 1):
            response = graph.call("PATCH", path, json=body,
                                  headers={"If-Match": etag, "Prefer": IN_UTC})
            if response.status_code == 200:
                written = response.json()
                return RemoteEvent(event.calendar_id, str(written["id"]),
                                   str(written.get("@odata.etag", "")))
            if response.status_code == 404:
                return None
            if response.status_code != 412 or attempt == PATCH_TRIES:
                raise source_error(response, label, "write to")
            current = graph.call("GET", path, headers={"Prefer": IN_UTC})
            if current.status_code == 404:
                return None
            if current.status_code != 200:
                raise source_error(current, label, "write to")
            etag = str(current.json().get("@odata.etag", ""))
        raise AssertionError("unreachable")  # pragma: no cover

    def _delete_event(self, source: SourceRef, calendar_id: str, event_id: str) -> None:
        with Graph(self.settings, source.credentials) as graph:
            mark = followup_of(event_id)
            if mark:
                # calsync's derived id, not Graph's: a create may have happened (a worker
                # killed before it noted Graph's id). Graph finds it only by transactionId,
                # whose create returns the earlier event, or makes a placeholder: delete it.
                event_id = self._by_transaction(graph, source, calendar_id, mark)
            response = graph.call("DELETE", f"me/events/{quote(event_id, safe='')}")
            if response.status_code in (200, 204, 404, 410):
                return  # 404: already gone, which is what we wanted
            raise source_error(response, _label(source, calendar_id), "delete from")

    def _by_transaction(self, graph: Graph, source: SourceRef, calendar_id: str,
                        mark: str) -> str:
        now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
        placeholder = {"subject": "calsync", "showAs": "free", "isReminderOn": False,
                       "start": {"dateTime": now, "timeZone": "UTC"},
                       "end": {"dateTime": now, "timeZone": "UTC"},
                       "transactionId": TRANSACTION_PREFIX + mark}
        response = graph.call("POST", f"{_calendar_path(calendar_id)}/events", json=placeholder)
        if response.status_code not in (200, 201):
            raise source_error(response, _label(source, calendar_id), "delete from")
        return str(response.json()["id"])

    # change notifications: a subscription per calendar is calsync's push channel

    def _open_channel(self, source: SourceRef, spec: PushChannelSpec) -> OpenedChannel:
        expires = datetime.now(UTC) + timedelta(hours=self.settings.microsoft_subscription_hours)
        body = {"changeType": "created,updated,deleted", "notificationUrl": spec.address,
                "lifecycleNotificationUrl": spec.address + LIFECYCLE_SUFFIX,
                "resource": f"{_calendar_path(spec.calendar_id)}/events",
                "expirationDateTime": _stamp(expires), "clientState": spec.token}
        with Graph(self.settings, source.credentials) as graph:
            response = graph.call("POST", "subscriptions", json=body)
        if response.status_code != 201:
            raise source_error(response, _label(source, spec.calendar_id),
                               "watch for changes in")
        made = response.json()
        # Graph may shorten the lifetime asked for; its answer is in UTC, to 7 decimals.
        given = str(made.get("expirationDateTime") or "")[:19]
        ends = datetime.fromisoformat(given).replace(tzinfo=UTC) if given else expires
        return OpenedChannel(spec.calendar_id, spec.channel_id, str(made["id"]), ends)

    def _close_channel(self, source: SourceRef, channel_id: str, resource_id: str) -> None:
        with Graph(self.settings, source.credentials) as graph:
            response = graph.call("DELETE", f"subscriptions/{quote(resource_id, safe='')}")
        if response.status_code not in (200, 204, 404):  # 404: expired or removed already
            raise source_error(response, "change notifications", "stop")

    def reauthorize(self, source: SourceRef, subscription_id: str) -> None:
        """Answer Graph's `reauthorizationRequired`: the subscription goes on with a fresh
        token (an expired or removed one: SourceError, and the renewal opens another)."""
        with Graph(self.settings, source.credentials) as graph:
            response = graph.call("POST", f"subscriptions/{quote(subscription_id, safe='')}"
                                          "/reauthorize")
        if response.status_code not in (200, 204):
            raise source_error(response, "change notifications", "renew")


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


def _calendar_path(calendar_id: str) -> str:
    return f"me/calendars/{quote(calendar_id, safe='')}"


def _occurrences(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Occurrence id → its key: Graph's `@removed` names only the id, and an occurrence is
    stored under its series and original start."""
    found = {}
    for item in items:
        key = occurrence_key(item)
        if key[1]:
            found[str(item["id"])] = [key[0], key[1]]
    return found


def _moved(created: dict[str, Any], body: dict[str, Any]) -> bool:
    return any(str((created.get(end) or {}).get("dateTime", ""))[:19] != body[end]["dateTime"][:19]
               for end in ("start", "end"))


def _label(source: SourceRef, calendar_id: str) -> str:
    names = source.options.get("calendar_names") or {}
    return str(names.get(calendar_id) or calendar_id)


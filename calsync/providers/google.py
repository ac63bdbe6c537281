"""The Google Calendar provider: one connected account, reading the calendars it picked and
writing follow-ups into one of them; push channels tell calsync when something changed.

Reads are incremental by sync token (one events.list per calendar when nothing changed);
a full sync of the window happens first, after a 410, when the calendars picked change,
and once a day as the window slides. Writes use calsync's derived event ids and If-Match,
so retries never duplicate and never overwrite a stranger's event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from googleapiclient.errors import HttpError

from calsync.config import Settings
from calsync.domain.meeting import MeetingData
from calsync.errors import SourceError
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
from calsync.providers.google_client import calendar_service, execute, source_error
from calsync.providers.google_events import (
    belongs_to,
    changed_meeting,
    event_body,
    is_meeting,
    occurrence_key,
    to_meeting,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 2500  # Google's largest page; a module constant so tests can page small
PATCH_TRIES = 3  # a 412 means someone edited meanwhile: read, re-apply, try again


class SyncTokenExpired(Exception):
    """Google answered 410: the sync token is gone and a full sync is required."""


class GoogleProvider(BaseProvider):
    """Reads `options["calendars_read"]`, writes to `options["calendar_written"]`."""

    name = "google"
    read_only = False
    supports_push = True
    supports_write = True

    # reading

    def _read(self, source: SourceRef, cursor: dict[str, Any], context: ReadContext) -> ChangeSet:
        calendars = [str(c) for c in source.options.get("calendars_read") or []]
        window_end = context.window_end.date().isoformat()
        states = cursor.get("calendars") or {}
        tokens = {c: str((states.get(c) or {}).get("sync_token") or "") for c in calendars}
        with calendar_service(self.settings, source.credentials) as service:
            if cursor.get("window_end") == window_end and calendars and all(tokens.values()):
                try:
                    return self._incremental(service, source, tokens, context, window_end)
                except SyncTokenExpired:
                    log.info("source %s: sync token expired, syncing in full", source.id)
            return self._full(service, source, calendars, context, window_end)

    def _full(self, service: Any, source: SourceRef, calendars: Sequence[str],
              context: ReadContext, window_end: str) -> ChangeSet:
        meetings: list[MeetingData] = []
        states: dict[str, dict[str, str]] = {}
        window = {"timeMin": context.window_start.astimezone(UTC).isoformat(),
                  "timeMax": context.window_end.astimezone(UTC).isoformat()}
        for calendar_id in calendars:
            items, token = self._list(service, source, calendar_id, window)
            states[calendar_id] = {"sync_token": token}
            meetings += [to_meeting(item, context.timezone) for item in items
                         if item.get("status") != "cancelled" and is_meeting(item)]
        return ChangeSet(meetings=meetings, cursor={"calendars": states, "window_end": window_end},
                         complete=True)

    def _incremental(self, service: Any, source: SourceRef, tokens: dict[str, str],
                     context: ReadContext, window_end: str) -> ChangeSet:
        meetings: list[MeetingData] = []
        deleted: list[tuple[str, str]] = []
        states: dict[str, dict[str, str]] = {}
        seen_any = False
        for calendar_id, token in tokens.items():
            items, next_token = self._list(service, source, calendar_id, {"syncToken": token})
            states[calendar_id] = {"sync_token": next_token}
            seen_any = seen_any or bool(items)
            for item in items:
                meeting = changed_meeting(item, context)
                if meeting is None:
                    deleted.append(occurrence_key(item))
                else:
                    meetings.append(meeting)
        cursor = {"calendars": states, "window_end": window_end}
        if not seen_any:
            return ChangeSet(cursor=cursor, complete=False, unchanged=True)
        # The same invitation can sit in two calendars read: present in one beats gone in one.
        present = {m.key for m in meetings}
        deleted = [key for key in dict.fromkeys(deleted) if key not in present]
        return ChangeSet(meetings=meetings, deleted=deleted, cursor=cursor, complete=False)

    def _list(self, service: Any, source: SourceRef, calendar_id: str,
              params: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
        """Every page of events.list; the sync token arrives with the last page."""
        items: list[dict[str, Any]] = []
        page_token: str | None = None
        while True:
            request = service.events().list(calendarId=calendar_id, singleEvents=True,
                                            maxResults=PAGE_SIZE, pageToken=page_token,
                                            **params)
            try:
                page = execute(request)
            except HttpError as exc:
                if exc.status_code == 410:
                    raise SyncTokenExpired from exc
                raise source_error(exc, _label(source, calendar_id)) from exc
            items += page.get("items") or []
            page_token = page.get("nextPageToken")
            if not page_token:
                return items, str(page.get("nextSyncToken") or "")

    # writing

    def _write_event(self, source: SourceRef, event: OutgoingEvent) -> RemoteEvent:
        label = _label(source, event.calendar_id)
        body = event_body(event)
        with calendar_service(self.settings, source.credentials) as service:
            try:
                if event.etag:
                    unchanged = () if event.times_changed else ("start", "end")
                    patch = {k: v for k, v in body.items() if k not in unchanged}
                    try:
                        return self._patch(service, event, patch, event.etag)
                    except HttpError as exc:
                        if exc.status_code not in (404, 410):
                            raise
                        # Gone without a trace (another calendar?): write it afresh.
                return self._insert(service, event, body, label)
            except HttpError as exc:
                raise source_error(exc, label, "write to") from exc

    def _insert(self, service: Any, event: OutgoingEvent, body: dict[str, Any],
                label: str) -> RemoteEvent:
        try:
            created = execute(service.events().insert(
                calendarId=event.calendar_id, body={**body, "id": event.event_id}))
            return _remote(event, created)
        except HttpError as exc:
            if exc.status_code != 409:
                raise
        # Our id is taken: an earlier try that succeeded before calsync could note it, or
        # someone else's event. Adopt only the first.
        current = execute(service.events().get(calendarId=event.calendar_id,
                                               eventId=event.event_id))
        if not belongs_to(current, event):
            raise SourceError(f"An unrelated event in “{label}” already holds the id calsync "
                              "chose for this follow-up, so calsync left it alone.")
        return self._patch(service, event, body, str(current.get("etag", "")))

    def _patch(self, service: Any, event: OutgoingEvent, body: dict[str, Any],
               etag: str) -> RemoteEvent:
        for attempt in range(1, PATCH_TRIES + 1):
            request = service.events().patch(calendarId=event.calendar_id,
                                             eventId=event.event_id, body=body)
            request.headers["If-Match"] = etag
            try:
                return _remote(event, execute(request))
            except HttpError as exc:
                if exc.status_code != 412 or attempt == PATCH_TRIES:
                    raise
            current = execute(service.events().get(calendarId=event.calendar_id,
                                                   eventId=event.event_id))
            etag = str(current.get("etag", ""))
        raise AssertionError("unreachable")  # pragma: no cover

    def _delete_event(self, source: SourceRef, calendar_id: str, event_id: str) -> None:
        with calendar_service(self.settings, source.credentials) as service:
            try:
                execute(service.events().delete(calendarId=calendar_id, eventId=event_id))
            except HttpError as exc:
                if exc.status_code in (404, 410):
                    return  # already gone: that is what we wanted
                raise source_error(exc, _label(source, calendar_id), "delete from") from exc

    # push channels

    def _open_channel(self, source: SourceRef, spec: PushChannelSpec) -> OpenedChannel:
        body = {"id": spec.channel_id, "type": "web_hook", "address": spec.address,
                "token": spec.token}
        with calendar_service(self.settings, source.credentials) as service:
            try:
                opened = execute(service.events().watch(calendarId=spec.calendar_id, body=body))
            except HttpError as exc:
                raise source_error(exc, _label(source, spec.calendar_id),
                                   "watch for changes in") from exc
        expiration = opened.get("expiration")
        expires_at = (datetime.fromtimestamp(int(expiration) / 1000, UTC)
                      if expiration else None)
        return OpenedChannel(spec.calendar_id, spec.channel_id, str(opened["resourceId"]),
                             expires_at)

    def _close_channel(self, source: SourceRef, channel_id: str, resource_id: str) -> None:
        with calendar_service(self.settings, source.credentials) as service:
            try:
                execute(service.channels().stop(body={"id": channel_id,
                                                      "resourceId": resource_id}))
            except HttpError as exc:
                if exc.status_code == 404:
                    return  # unknown or already stopped
                raise source_error(exc, "push notifications", "stop") from exc


def list_calendars(settings: Settings, credentials: dict[str, Any]) -> list[dict[str, Any]]:
    """The account's calendars for the picker: id, summary, primary, accessRole, timeZone.

    Refreshed tokens are written back into `credentials` in place; seal and store them.
    """
    calendars: list[dict[str, Any]] = []
    with calendar_service(settings, credentials) as service:
        page_token: str | None = None
        while True:
            try:
                page = execute(service.calendarList().list(maxResults=250,
                                                           pageToken=page_token))
            except HttpError as exc:
                raise source_error(exc, "your calendar list", "list") from exc
            calendars += [{"id": entry["id"], "summary": entry.get("summary", entry["id"]),
                           "primary": bool(entry.get("primary", False)),
                           "accessRole": entry.get("accessRole", ""),
                           "timeZone": entry.get("timeZone", "")}
                          for entry in page.get("items") or []]
            page_token = page.get("nextPageToken")
            if not page_token:
                return calendars


def _remote(event: OutgoingEvent, written: dict[str, Any]) -> RemoteEvent:
    return RemoteEvent(event.calendar_id, str(written.get("id", event.event_id)),
                       str(written.get("etag", "")))


def _label(source: SourceRef, calendar_id: str) -> str:
    names = source.options.get("calendar_names") or {}
    return str(names.get(calendar_id) or calendar_id)

"""The Calendar API v3 handlers: calendarList, events, watch and channels.stop.

Every call needs `Authorization: Bearer <access token>` from the emulator's token endpoint,
with a scope that allows it; a calendar is visible only to the account that owns it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request

from calsync.emulator import errors, events, listing
from calsync.emulator.push import Notifier
from calsync.emulator.state import DEFAULT_CHANNEL_TTL, Calendar, State, Token, WatchChannel

AUTH = "https://www.googleapis.com/auth/"
# `calendar.events.owned` covers the calendars the account owns, which are the only ones
# an account sees here.
WRITE_SCOPES = frozenset({AUTH + "calendar", AUTH + "calendar.events",
                          AUTH + "calendar.events.owned"})
READ_SCOPES = WRITE_SCOPES | {AUTH + "calendar.readonly", AUTH + "calendar.events.readonly",
                              AUTH + "calendar.events.owned.readonly"}
LIST_SCOPES = frozenset({AUTH + "calendar", AUTH + "calendar.readonly",
                         AUTH + "calendar.calendarlist", AUTH + "calendar.calendarlist.readonly"})
MAX_CHANNEL_ID = 64


def json_body(request: Request) -> dict[str, Any]:
    if not request.get_data():
        return {}
    try:
        body = json.loads(request.get_data())
    except ValueError:
        raise errors.ApiError(400, "parseError", "Parse Error") from None
    if not isinstance(body, dict):
        raise errors.bad_request()
    return body


class CalendarApi:
    def __init__(self, state: State, notifier: Notifier, *, allow_http_webhooks: bool) -> None:
        self.state = state
        self.notifier = notifier
        self.allow_http_webhooks = allow_http_webhooks
        self.api_endpoint = ""  # set once the server knows its port

    # access

    def _token(self, request: Request, scopes: frozenset[str]) -> Token:
        header = request.headers.get("Authorization", "")
        if not header:
            raise errors.auth_error(missing=True)
        scheme, _, value = header.partition(" ")
        token = self.state.access_tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or token.grant.revoked or token.expires_at < time.time():
            raise errors.auth_error(missing=False)
        if not token.scopes & scopes:
            raise errors.insufficient_scopes()
        return token

    def _calendar(self, request: Request, calendar_id: str, scopes: frozenset[str]) -> Calendar:
        token = self._token(request, scopes)
        if calendar_id == "primary":
            calendar_id = token.grant.email
        calendar = self.state.calendars.get(calendar_id)
        if calendar is None or calendar.owner != token.grant.email:
            raise errors.not_found()
        return calendar

    # calendarList

    def calendar_list(self, request: Request) -> dict[str, Any]:
        with self.state.lock:
            token = self._token(request, LIST_SCOPES)
            account = self.state.accounts[token.grant.email]
            entries = [self._entry(self.state.calendars[c]) for c in account.calendar_ids]
        raw_max = request.args.get("maxResults", "100")
        if not raw_max.isdigit() or int(raw_max) < 1:
            raise errors.invalid_parameter("maxResults", raw_max, "[0-9]+")
        size = min(int(raw_max), 250)
        offset = 0
        if request.args.get("pageToken"):
            try:
                offset = int(base64.urlsafe_b64decode(request.args["pageToken"]).decode())
            except ValueError:
                raise errors.invalid("Invalid page token value.") from None
        body: dict[str, Any] = {"kind": "calendar#calendarList",
                                "etag": f'"p{self.state.seq:016d}"',
                                "items": entries[offset:offset + size]}
        if offset + size < len(entries):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        return body

    @staticmethod
    def _entry(calendar: Calendar) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry", "etag": f'"{zlib.crc32(calendar.id.encode())}"',
            "id": calendar.id, "summary": calendar.summary, "timeZone": calendar.time_zone,
            "colorId": "14", "backgroundColor": "#9fe1e7", "foregroundColor": "#000000",
            "selected": True, "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 10}]}
        if calendar.description:
            entry["description"] = calendar.description
        if calendar.primary:
            entry["primary"] = True
        return entry

    # events

    def list_events(self, request: Request, calendar_id: str) -> dict[str, Any]:
        with self.state.lock:
            calendar = self._calendar(request, calendar_id, READ_SCOPES)
            return listing.list_events(self.state, calendar, request.args)

    def insert(self, request: Request, calendar_id: str) -> dict[str, Any]:
        body = json_body(request)
        with self.state.lock:
            calendar = self._calendar(request, calendar_id, WRITE_SCOPES)
            return events.present(events.insert(self.state, calendar, body), calendar)

    def get(self, request: Request, calendar_id: str, event_id: str) -> dict[str, Any]:
        with self.state.lock:
            calendar = self._calendar(request, calendar_id, READ_SCOPES)
            return events.present(events.find(calendar, event_id), calendar)

    def patch(self, request: Request, calendar_id: str, event_id: str) -> dict[str, Any]:
        return self._update(request, calendar_id, event_id, replace=False)

    def put(self, request: Request, calendar_id: str, event_id: str) -> dict[str, Any]:
        return self._update(request, calendar_id, event_id, replace=True)

    def _update(self, request: Request, calendar_id: str, event_id: str, *,
                replace: bool) -> dict[str, Any]:
        body = json_body(request)
        with self.state.lock:
            calendar = self._calendar(request, calendar_id, WRITE_SCOPES)
            updated = events.update(self.state, calendar, event_id, body, replace=replace,
                                    if_match=request.headers.get("If-Match"))
            return events.present(updated, calendar)

    def delete(self, request: Request, calendar_id: str, event_id: str) -> None:
        with self.state.lock:
            calendar = self._calendar(request, calendar_id, WRITE_SCOPES)
            events.delete(self.state, calendar, event_id, if_match=request.headers.get("If-Match"))

    # push channels

    def watch(self, request: Request, calendar_id: str) -> dict[str, Any]:
        body = json_body(request)
        with self.state.lock:
            calendar = self._calendar(request, calendar_id, READ_SCOPES)
            channel = self._channel(body, calendar)
            self.state.channels[channel.id] = channel
            self.notifier.send(channel, "sync")
        out = {"kind": "api#channel", "id": channel.id, "resourceId": channel.resource_id,
               "resourceUri": channel.resource_uri, "expiration": str(channel.expiration_ms)}
        if channel.token:
            out["token"] = channel.token
        return out

    def _channel(self, body: dict[str, Any], calendar: Calendar) -> WatchChannel:
        channel_id, address = body.get("id"), body.get("address")
        if not channel_id or not address:
            raise errors.ApiError(400, "required", "Required")
        if not isinstance(channel_id, str) or len(channel_id) > MAX_CHANNEL_ID:
            raise errors.invalid("Invalid channel id.")
        if body.get("type") not in ("web_hook", "webhook"):
            raise errors.bad_request(f"Invalid value for: {body.get('type')} is not a valid "
                                     "value for the channel type.")
        if not str(address).startswith(("https://", "http://")) or (
                address.startswith("http://") and not self.allow_http_webhooks):
            raise errors.ApiError(400, "push.webhookUrlNotHttps",
                                  f"WebHook callback must be HTTPS: {address}", domain="push")
        if channel_id in self.state.channels:
            raise errors.ApiError(400, "channelIdNotUnique", "Channel id not unique",
                                  domain="push")
        now_ms = int(time.time() * 1000)
        expiration = now_ms + DEFAULT_CHANNEL_TTL * 1000
        ttl = (body.get("params") or {}).get("ttl")
        if ttl is not None:
            try:
                expiration = now_ms + int(float(ttl) * 1000)
            except ValueError:
                raise errors.invalid(f"Invalid ttl value: {ttl}") from None
        elif body.get("expiration"):
            expiration = min(int(body["expiration"]), expiration)
        digest = hashlib.sha1(calendar.id.encode(), usedforsecurity=False).digest()
        return WatchChannel(
            id=channel_id,
            resource_id=base64.urlsafe_b64encode(digest).decode().rstrip("=")[:27],
            resource_uri=f"{self.api_endpoint}calendars/{quote(calendar.id, safe='@')}"
                         "/events?alt=json",
            calendar_id=calendar.id, address=address, token=str(body.get("token") or ""),
            expiration_ms=expiration)

    def stop_channel(self, request: Request) -> None:
        body = json_body(request)
        with self.state.lock:
            self._token(request, READ_SCOPES | LIST_SCOPES)
            channel = self.state.channels.get(str(body.get("id", "")))
            if (channel is None or channel.stopped
                    or channel.resource_id != body.get("resourceId")):
                raise errors.ApiError(
                    404, "notFound",
                    f"Channel '{body.get('id', '')}' not found for project 'calsync-emulator'")
            channel.stopped = True

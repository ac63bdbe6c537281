"""Graph v1.0's calendar handlers: /me, calendars, calendarView/delta and events.

Every call needs `Authorization: Bearer <access token>` from the emulator's identity
platform with a Graph permission that allows it; a calendar or event is visible only to the
account that owns it. `/me/calendar…` is the default calendar; `/me/events/{id}` finds an
event in any of the account's calendars.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request

from calsync.emulator.microsoft import delta, errors, events, render, times
from calsync.emulator.microsoft.identity import graph_permissions
from calsync.emulator.microsoft.state import (
    MsAccount,
    MsCalendar,
    MsState,
    Token,
    occurrence_id,
)

READ = frozenset({"calendars.read", "calendars.readwrite"})
WRITE = frozenset({"calendars.readwrite"})
PROFILE = frozenset({"user.read", "user.readwrite", "user.readbasic.all"})
DEFAULT_TOP = 10  # /me/calendars answers ten at a time unless $top asks otherwise


def graph_token(state: MsState, request: Request, permissions: frozenset[str]) -> Token:
    """The live access token a Graph request carries, granting one of `permissions`
    (lower-case Graph names); 401 or 403 as Graph answers otherwise. Caller holds the lock."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if not value.strip():
        raise errors.unauthenticated(empty=True)
    token = state.access_tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if token is None or token.grant.revoked or token.expires_at < time.time():
        raise errors.unauthenticated(empty=False)
    if not graph_permissions(token.scopes) & permissions:
        raise errors.access_denied()
    return token


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, as Graph refuses anything else (subscriptions too)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise errors.GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    return body


class Graph:
    def __init__(self, state: MsState) -> None:
        self.state = state

    def _account(self, request: Request, permissions: frozenset[str]) -> MsAccount:
        return self.state.accounts[graph_token(self.state, request, permissions).grant.email]

    def _calendar(self, account: MsAccount, calendar_id: str | None) -> MsCalendar:
        if calendar_id is None:
            return self.state.default_calendar(account.email)
        found = self.state.calendars.get(calendar_id)
        if found is None or found.owner != account.email:
            raise errors.item_not_found()
        return found

    # the user and their calendars

    def me(self, request: Request) -> dict[str, Any]:
        with self.state.lock:
            account = self._account(request, PROFILE)
        given, _, family = account.name.partition(" ")
        return {"@odata.context": f"{request.host_url}v1.0/$metadata#users/$entity",
                "businessPhones": [], "displayName": account.name, "givenName": given,
                "jobTitle": None, "mail": account.email, "mobilePhone": None,
                "officeLocation": None, "preferredLanguage": "en-US", "surname": family or None,
                "userPrincipalName": account.email, "id": account.oid}

    def calendars(self, request: Request) -> dict[str, Any]:
        with self.state.lock:
            account = self._account(request, READ)
            entries = [self._entry(c, account) for c in self.state.account_calendars(
                account.email)]
        top = self._int_arg(request, "$top", DEFAULT_TOP)
        skip = self._int_arg(request, "$skip", 0)
        body: dict[str, Any] = {
            "@odata.context": f"{request.host_url}v1.0/$metadata#users('{account.oid}')"
                              "/calendars", "value": entries[skip:skip + top]}
        if skip + top < len(entries):
            body["@odata.nextLink"] = f"{request.base_url}?$top={top}&$skip={skip + top}"
        return body

    def calendar(self, request: Request, calendar_id: str | None = None) -> dict[str, Any]:
        with self.state.lock:
            account = self._account(request, READ)
            return self._entry(self._calendar(account, calendar_id), account)

    @staticmethod
    def _int_arg(request: Request, name: str, default: int) -> int:
        raw = request.args.get(name)
        if raw is None:
            return default
        if not raw.isdigit():
            raise errors.GraphError(400, "BadRequest", f"Invalid value '{raw}' for {name}.")
        return int(raw)

    @staticmethod
    def _entry(calendar: MsCalendar, account: MsAccount) -> dict[str, Any]:
        return {"id": calendar.id, "name": calendar.name, "color": calendar.color,
                "hexColor": "", "isDefaultCalendar": calendar.is_default,
                "changeKey": calendar.change_key, "canShare": True, "canViewPrivateItems": True,
                "canEdit": True, "allowedOnlineMeetingProviders": ["teamsForBusiness"],
                "defaultOnlineMeetingProvider": "teamsForBusiness",
                "isTallyingResponses": True, "isRemovable": not calendar.is_default,
                "owner": {"name": account.name, "address": account.email}}

    # events

    def view(self, request: Request, calendar_id: str | None = None) -> dict[str, Any]:
        """calendarView: the window's single instances, occurrences and exceptions in start
        order, ten at a time unless `$top` says otherwise."""
        zone_name, tz = times.preferred_zone(request.headers.getlist("Prefer"))
        low = times.parse_query_time(request.args.get("startDateTime"), "startDateTime")
        high = times.parse_query_time(request.args.get("endDateTime"), "endDateTime")
        top = self._int_arg(request, "$top", DEFAULT_TOP)
        skip = self._int_arg(request, "$skip", 0)
        with self.state.lock:
            account = self._account(request, READ)
            calendar = self._calendar(account, calendar_id)
            entries = render.view(self.state, calendar, low, high)
            items = [render.present(e, account, zone_name, tz, in_collection=False)
                     for e in entries[skip:skip + top]]
        body: dict[str, Any] = {
            "@odata.context": f"{request.host_url}v1.0/$metadata#Collection(event)",
            "value": items}
        if skip + top < len(entries):
            window = f"startDateTime={quote(request.args['startDateTime'])}" \
                     f"&endDateTime={quote(request.args['endDateTime'])}"
            body["@odata.nextLink"] = f"{request.base_url}?{window}&$top={top}&$skip={skip + top}"
        return body

    def delta(self, request: Request, calendar_id: str | None = None) -> dict[str, Any]:
        with self.state.lock:
            account = self._account(request, READ)
            calendar = self._calendar(account, calendar_id)
            return delta.page(self.state, calendar, account, request.args, request.base_url,
                              request.headers.getlist("Prefer"))

    def create(self, request: Request, calendar_id: str | None = None) -> tuple[
            dict[str, Any], int]:
        body = json_body(request)
        zone_name, tz = times.preferred_zone(request.headers.getlist("Prefer"))
        with self.state.lock:
            account = self._account(request, WRITE)
            calendar = self._calendar(account, calendar_id)
            event, _ = events.create(self.state, calendar, body)
            entry = render.Entry(event.id, event.etag, event)
            out = render.present(entry, account, zone_name, tz, in_collection=False)
        return {"@odata.context": f"{request.host_url}v1.0/$metadata#users('{account.oid}')"
                                  "/events/$entity", **out}, 201

    def _found(self, request: Request, permissions: frozenset[str], event_id: str,
               calendar_id: str | None) -> tuple[MsAccount, events.Found]:
        account = self._account(request, permissions)
        scope = ([self._calendar(account, calendar_id)] if calendar_id is not None
                 else self.state.account_calendars(account.email))
        return account, events.find(self.state, scope, event_id)

    def _present(self, request: Request, account: MsAccount,
                 found: events.Found) -> dict[str, Any]:
        zone_name, tz = times.preferred_zone(request.headers.getlist("Prefer"))
        if found.stored is not None:
            entry = render.Entry(found.stored.id, found.stored.etag, found.stored)
        else:
            assert found.master is not None and found.original is not None
            entry = render.Entry(occurrence_id(found.master.id, found.original),
                                 found.master.etag, found.master, found.original)
        out = render.present(entry, account, zone_name, tz,
                             expand=request.args.get("$expand", ""), in_collection=False)
        return {"@odata.context": f"{request.host_url}v1.0/$metadata#users('{account.oid}')"
                                  "/events/$entity", **out}

    def get(self, request: Request, event_id: str,
            calendar_id: str | None = None) -> dict[str, Any]:
        with self.state.lock:
            account, found = self._found(request, READ, event_id, calendar_id)
            return self._present(request, account, found)

    def patch(self, request: Request, event_id: str,
              calendar_id: str | None = None) -> dict[str, Any]:
        body = json_body(request)
        with self.state.lock:
            account, found = self._found(request, WRITE, event_id, calendar_id)
            event = events.update(self.state, found, body,
                                  if_match=request.headers.get("If-Match"))
            return self._present(request, account, events.Found(found.calendar, event))

    def delete(self, request: Request, event_id: str, calendar_id: str | None = None) -> None:
        with self.state.lock:
            _, found = self._found(request, WRITE, event_id, calendar_id)
            events.delete(self.state, found)

"""Writing to Outlook through Graph: a follow-up's event (created once by transactionId,
updated with If-Match), its deletion, and the change-notification subscriptions that are
calsync's push channels. The Microsoft provider calls these with an open `Graph`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from calsync.providers.base import OpenedChannel, OutgoingEvent, PushChannelSpec, RemoteEvent
from calsync.providers.microsoft_events import (
    TRANSACTION_PREFIX,
    event_body,
    followup_of,
    transaction_id,
)
from calsync.providers.microsoft_graph import IN_UTC, Graph, calendar_path, source_error

PATCH_TRIES = 3  # a 412 means someone edited meanwhile: read, re-apply, try again
LIFECYCLE_SUFFIX = "/lifecycle"  # lifecycle notifications arrive beside the change ones


def write(graph: Graph, event: OutgoingEvent, label: str) -> RemoteEvent:
    """Update the event calsync wrote (by its etag), or create it."""
    if event.etag:
        body = event_body(event, with_times=event.times_changed)
        updated = _patch(graph, event, body, event.etag, label)
        if updated is not None:
            return updated
        # Gone without a trace: write it afresh (a new transactionId round).
    return _create(graph, event, label)


def _create(graph: Graph, event: OutgoingEvent, label: str) -> RemoteEvent:
    body = {**event_body(event), "transactionId": transaction_id(event)}
    response = graph.call("POST", f"{calendar_path(event.calendar_id)}/events", json=body,
                          headers={"Prefer": IN_UTC})
    if response.status_code not in (200, 201):
        raise source_error(response, label, "write to")
    created = response.json()
    if created.get("subject") != body["subject"] or _moved(created, body):
        # The transactionId found an event an earlier try made from an older version
        # of the follow-up: bring it up to date.
        updated = _patch(graph, event, event_body(event), str(created["@odata.etag"]),
                         label, str(created["id"]))
        if updated is not None:
            return updated
    return RemoteEvent(event.calendar_id, str(created["id"]), str(created["@odata.etag"]))


def _patch(graph: Graph, event: OutgoingEvent, body: dict[str, Any], etag: str,
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


def delete(graph: Graph, calendar_id: str, event_id: str, label: str) -> None:
    """Delete an event calsync wrote; one already gone counts as deleted."""
    mark = followup_of(event_id)
    if mark:
        # calsync's derived id, not Graph's: a create may have happened (a worker killed
        # before it noted Graph's id). Graph finds it only by transactionId, whose create
        # returns the earlier event, or makes a placeholder: delete that either way.
        event_id = _by_transaction(graph, calendar_id, mark, label)
    response = graph.call("DELETE", f"me/events/{quote(event_id, safe='')}")
    if response.status_code not in (200, 204, 404, 410):  # 404: gone, as wanted
        raise source_error(response, label, "delete from")


def _by_transaction(graph: Graph, calendar_id: str, mark: str, label: str) -> str:
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
    placeholder = {"subject": "calsync", "showAs": "free", "isReminderOn": False,
                   "start": {"dateTime": now, "timeZone": "UTC"},
                   "end": {"dateTime": now, "timeZone": "UTC"},
                   "transactionId": TRANSACTION_PREFIX + mark}
    response = graph.call("POST", f"{calendar_path(calendar_id)}/events", json=placeholder)
    if response.status_code not in (200, 201):
        raise source_error(response, label, "delete from")
    return str(response.json()["id"])


def subscribe(graph: Graph, spec: PushChannelSpec, hours: int, label: str) -> OpenedChannel:
    """A subscription to changes of one calendar's events, to `spec.address`, whose
    notifications carry `spec.token` as their clientState."""
    expires = datetime.now(UTC) + timedelta(hours=hours)
    body = {"changeType": "created,updated,deleted", "notificationUrl": spec.address,
            "lifecycleNotificationUrl": spec.address + LIFECYCLE_SUFFIX,
            "resource": f"{calendar_path(spec.calendar_id)}/events",
            "expirationDateTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "clientState": spec.token}
    response = graph.call("POST", "subscriptions", json=body)
    if response.status_code != 201:
        raise source_error(response, label, "watch for changes in")
    made = response.json()
    # Graph may shorten the lifetime asked for; its answer is in UTC, to 7 decimals.
    given = str(made.get("expirationDateTime") or "")[:19]
    ends = datetime.fromisoformat(given).replace(tzinfo=UTC) if given else expires
    return OpenedChannel(spec.calendar_id, spec.channel_id, str(made["id"]), ends)


def unsubscribe(graph: Graph, subscription_id: str) -> None:
    response = graph.call("DELETE", f"subscriptions/{quote(subscription_id, safe='')}")
    if response.status_code not in (200, 204, 404):  # 404: expired or removed already
        raise source_error(response, "change notifications", "stop")


def reauthorize(graph: Graph, subscription_id: str) -> None:
    response = graph.call("POST", f"subscriptions/{quote(subscription_id, safe='')}"
                                  "/reauthorize")
    if response.status_code not in (200, 204):
        raise source_error(response, "change notifications", "renew")


def _moved(created: dict[str, Any], body: dict[str, Any]) -> bool:
    return any(str((created.get(end) or {}).get("dateTime", ""))[:19]
               != body[end]["dateTime"][:19] for end in ("start", "end"))

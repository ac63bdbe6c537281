"""Graph change notifications: subscriptions on a calendar's events, the validation
handshake, change notifications and lifecycle notifications, delivered to real URLs.

Creating a subscription POSTs `?validationToken=…` (text/plain) to the notification URL
(and to the lifecycle URL, when given) before answering; the receiver must echo the decoded
token as text/plain with 200 within 10 seconds, or the create fails with 400
ValidationError. Afterwards each change is one POST of a changeNotificationCollection, in
order, off the request thread; failures are recorded, not retried (Graph retries for up to
four hours).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import requests
from werkzeug.wrappers import Request

from calsync.emulator.common import WebhookSender, with_query
from calsync.emulator.microsoft import errors, times
from calsync.emulator.microsoft.graph import graph_token, json_body
from calsync.emulator.microsoft.state import (
    MAX_SUBSCRIPTION_MINUTES,
    MsCalendar,
    MsState,
    StoredEvent,
    Subscription,
)

VALIDATION_TIMEOUT = 10.0
DELIVERY_TIMEOUT = 5.0
CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
READ = frozenset({"calendars.read", "calendars.readwrite", "calendars.readbasic"})
_RESOURCE = re.compile(r"/?(?:me|users/[^/]+)/(?:calendars(?:/([^/()]+)|\('([^']+)'\))/|"
                       r"calendar/)?events", re.IGNORECASE)


class Delivery(NamedTuple):
    """One POST the emulator made to a subscriber, and what came back."""

    kind: str  # "validation", "change" or "lifecycle"
    url: str
    body: dict[str, Any] | None  # the JSON sent (None for a validation request)
    status: int | None  # None: the receiver could not be reached
    answer: str = ""  # what the receiver answered (the echoed token, for a validation)
    error: str = ""


class Subscriptions(WebhookSender[tuple[str, str, dict[str, Any]], Delivery]):
    def __init__(self, state: MsState, *, verify_tls: bool | str,
                 allow_http: bool) -> None:
        super().__init__("microsoft-emulator-push", DELIVERY_TIMEOUT)
        self.state = state
        self.verify_tls = verify_tls
        self.allow_http = allow_http
        state.listeners.append(self.event_changed)

    # the API

    def create(self, request: Request) -> tuple[dict[str, Any], int]:
        body = json_body(request)
        with self.state.lock:
            token = graph_token(self.state, request, READ)
            made = self._parse(body, token.grant.email, token.grant.client_id)
        for url, which in ((made.notification_url, "Notification endpoint"),
                           (made.lifecycle_url, "Lifecycle notification endpoint")):
            if url and not self._validate(url):
                raise errors.validation_failed(which)
        with self.state.lock:
            self.state.subscriptions[made.id] = made
        return self._present(made, request), 201

    def _parse(self, body: dict[str, Any], email: str, client_id: str) -> Subscription:
        resource = str(body.get("resource") or "")
        found = _RESOURCE.fullmatch(resource)
        calendars = {c.id: c for c in self.state.account_calendars(email)}
        calendar_id = (found.group(1) or found.group(2)) if found else None
        if found is None or (calendar_id is not None and calendar_id not in calendars):
            raise errors.subscription_refused("Create", f"The resource '{resource}' is not "
                                                        "supported or was not found.")
        kinds = frozenset(k.strip() for k in str(body.get("changeType") or "").split(",") if k)
        if not kinds or not kinds <= CHANGE_TYPES:
            raise errors.GraphError(400, "InvalidRequest",
                                    "Invalid 'changeType' attribute: "
                                    f"'{body.get('changeType')}'.")
        urls = [str(body.get("notificationUrl") or ""), str(body.get("lifecycleNotificationUrl")
                                                            or "")]
        for url in filter(None, urls):
            if not url.startswith("https://") and not (self.allow_http
                                                       and url.startswith("http://")):
                raise errors.GraphError(400, "InvalidRequest",
                                        "The Notification Url must use the HTTPS protocol.")
        if not urls[0]:
            raise errors.GraphError(400, "InvalidRequest", "notificationUrl is required.")
        client_state = str(body.get("clientState") or "")
        if len(client_state) > 128:
            raise errors.GraphError(400, "InvalidRequest",
                                    "clientState must be at most 128 characters.")
        return Subscription(
            id=str(uuid.uuid4()), email=email, client_id=client_id, resource=resource,
            calendar_id=calendar_id or self.state.default_calendar(email).id,
            change_types=kinds, notification_url=urls[0], lifecycle_url=urls[1],
            client_state=client_state, expires=self._expiry(body, "Create"),
            echoed={k: body.get(k) for k in ("latestSupportedTlsVersion",
                                              "notificationQueryOptions")})

    @staticmethod
    def _expiry(body: dict[str, Any], operation: str) -> datetime:
        raw = body.get("expirationDateTime")
        if not raw:
            raise errors.GraphError(400, "InvalidRequest", "expirationDateTime is required.")
        expires = times.parse_query_time(str(raw), "expirationDateTime")
        now = datetime.now(UTC)
        if expires <= now:
            raise errors.subscription_refused(operation, "Subscription expiration must be in "
                                                         "the future.")
        if expires > now + timedelta(minutes=MAX_SUBSCRIPTION_MINUTES):
            raise errors.subscription_refused(operation, "Subscription expiration can only be "
                                                         f"{MAX_SUBSCRIPTION_MINUTES} minutes "
                                                         "in the future.")
        return expires

    def _owned(self, request: Request, subscription_id: str) -> Subscription:
        token = graph_token(self.state, request, READ)
        found = self.state.subscriptions.get(subscription_id)
        if (found is None or found.removed or found.email != token.grant.email
                or found.client_id != token.grant.client_id
                or found.expires <= datetime.now(UTC)):
            raise errors.subscription_not_found()
        return found

    def get(self, request: Request, subscription_id: str) -> dict[str, Any]:
        with self.state.lock:
            return self._present(self._owned(request, subscription_id), request)

    def renew(self, request: Request, subscription_id: str) -> dict[str, Any]:
        body = json_body(request)
        with self.state.lock:
            found = self._owned(request, subscription_id)
            found.expires = self._expiry(body, "Update")
            return self._present(found, request)

    def reauthorize(self, request: Request, subscription_id: str) -> None:
        with self.state.lock:
            self._owned(request, subscription_id)

    def delete(self, request: Request, subscription_id: str) -> None:
        with self.state.lock:
            self._owned(request, subscription_id).removed = True

    def _present(self, found: Subscription, request: Request) -> dict[str, Any]:
        account = self.state.accounts[found.email]
        return {
            "@odata.context": f"{request.host_url}v1.0/$metadata#subscriptions/$entity",
            "id": found.id, "resource": found.resource, "applicationId": found.client_id,
            "changeType": ",".join(sorted(found.change_types)), "clientState": found.client_state,
            "notificationUrl": found.notification_url,
            "notificationQueryOptions": found.echoed.get("notificationQueryOptions"),
            "lifecycleNotificationUrl": found.lifecycle_url or None,
            "expirationDateTime": times.timestamp(found.expires), "creatorId": account.oid,
            "includeResourceData": False,
            "latestSupportedTlsVersion": found.echoed.get("latestSupportedTlsVersion")
            or "v1_2",
            "encryptionCertificate": None, "encryptionCertificateId": None,
            "notificationUrlAppId": None}

    # deliveries

    def _validate(self, url: str) -> bool:
        """The handshake: Graph's token is opaque text that needs URL-decoding."""
        token = ("Validation: Testing client application reachability for subscription "
                 f"Request-Id: {uuid.uuid4()}")
        status: int | None = None
        answer = error = ""
        ok = False
        try:
            response = self._session.post(
                with_query(url, {"validationToken": token}), data=b"",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=VALIDATION_TIMEOUT, verify=self.verify_tls, allow_redirects=False)
            status, answer = response.status_code, response.text
            ok = (status == 200 and answer == token and response.headers.get(
                "Content-Type", "").startswith("text/plain"))
        except requests.RequestException as exc:
            error = str(exc)
        self._record(Delivery("validation", url, None, status, answer, error))
        return ok

    def event_changed(self, calendar: MsCalendar, event: StoredEvent, change: str) -> None:
        """Queue a notification to each live subscription on `calendar` that wants `change`
        (caller holds the state lock)."""
        now = datetime.now(UTC)
        account = self.state.accounts[calendar.owner]
        for sub in self.state.subscriptions.values():
            if sub.calendar_id != calendar.id or not sub.live(now) or (
                    change not in sub.change_types):
                continue
            path = f"Users/{account.oid}/Events/{event.id}"
            self._courier.put(("change", sub.notification_url, {"value": [{
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": times.timestamp(sub.expires),
                "changeType": change, "resource": path, "clientState": sub.client_state,
                "tenantId": account.tid,
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": path,
                                 "@odata.etag": event.etag, "id": event.id}}]}))

    def lifecycle(self, subscription_id: str, event: str) -> bool:
        """Send a lifecycle notification (`reauthorizationRequired`, `missed`,
        `subscriptionRemoved`, which also ends the subscription); False when the
        subscription has no lifecycle URL (Graph then sends none)."""
        with self.state.lock:
            sub = self.state.subscriptions[subscription_id]
            if event == "subscriptionRemoved":
                sub.removed = True
            if not sub.lifecycle_url:
                return False
            account = self.state.accounts[sub.email]
            self._courier.put(("lifecycle", sub.lifecycle_url, {"value": [{
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": times.timestamp(sub.expires),
                "tenantId": account.tid, "clientState": sub.client_state,
                "lifecycleEvent": event}]}))
        return True

    def _deliver(self, job: tuple[str, str, dict[str, Any]]) -> None:
        kind, url, body = job
        status: int | None = None
        answer = error = ""
        try:
            response = self._session.post(url, json=body, timeout=DELIVERY_TIMEOUT,
                                          verify=self.verify_tls, allow_redirects=False)
            status, answer = response.status_code, response.text[:1000]
        except requests.RequestException as exc:
            error = str(exc)
        self._record(Delivery(kind, url, body, status, answer, error))

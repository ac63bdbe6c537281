"""The Microsoft emulator's change notifications, against a real local receiver: the
validation handshake, clientState, change types, renewal, expiry bounds and lifecycle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from calsync.emulator.microsoft import MicrosoftEmulator
from tests.servers.graph_receiver import GraphReceiver
from tests.servers.microsoft import CLIENT_ID, EMAIL, graph

SECRET_STATE = "calsync-client-state-7f3a"


@pytest.fixture
def receiver() -> Iterator[GraphReceiver]:
    with GraphReceiver(client_state=SECRET_STATE) as running_receiver:
        yield running_receiver


def subscription(calendar_id: str, url: str, **extra: Any) -> dict[str, Any]:
    expires = datetime.now(UTC) + timedelta(days=2)
    return {"changeType": "created,updated,deleted", "notificationUrl": url,
            "resource": f"me/calendars/{calendar_id}/events",
            "expirationDateTime": expires.isoformat().replace("+00:00", "Z"),
            "clientState": SECRET_STATE, **extra}


def meeting(subject: str) -> dict[str, Any]:
    return {"subject": subject, "start": {"dateTime": "2025-04-02T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2025-04-02T09:30:00", "timeZone": "UTC"}}


def test_handshake_then_notifications_with_client_state(microsoft: MicrosoftEmulator,
                                                        token: str,
                                                        receiver: GraphReceiver) -> None:
    team = microsoft.calendar_ids(EMAIL)[1]
    created = graph(microsoft, "POST", "subscriptions", token,
                    json=subscription(team, receiver.url()))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["clientState"] == SECRET_STATE and body["changeType"] == "created,deleted,updated"
    # the token arrived URL-decoded, spaces and all, and was echoed as text/plain
    [token_sent] = receiver.validations
    assert token_sent.startswith("Validation: Testing client application reachability")
    assert microsoft.deliveries[0].kind == "validation"

    event = microsoft.add_event(team, meeting("Intro call"))
    microsoft.update_event(team, event["id"], {"subject": "Intro call (moved)"})
    microsoft.delete_event(team, event["id"])
    microsoft.add_event(microsoft.calendar_ids(EMAIL)[0], meeting("Other calendar"))
    last = microsoft.add_event(team, meeting("Last"))
    notes = receiver.wait_for(4)
    assert [n["changeType"] for n in notes] == ["created", "updated", "deleted", "created"]
    assert all(n["subscriptionId"] == body["id"] for n in notes)
    # deliveries keep their order: the other calendar's change, between, sent nothing
    assert [n["resourceData"]["id"] for n in notes] == [event["id"]] * 3 + [last["id"]]
    assert notes[0]["resource"].endswith(f"/Events/{event['id']}")
    assert receiver.forged == [] and len(microsoft.wait_for_deliveries(5)) == 5


def test_a_receiver_that_fails_the_handshake_gets_no_subscription(
        microsoft: MicrosoftEmulator, token: str, receiver: GraphReceiver) -> None:
    team = microsoft.calendar_ids(EMAIL)[1]
    for mode in ("wrong-token", "refuse"):
        receiver.mode = mode
        refused = graph(microsoft, "POST", "subscriptions", token,
                        json=subscription(team, receiver.url()))
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "ValidationError"
    assert microsoft.subscription_ids() == []
    microsoft.add_event(team, meeting("Nobody listens"))
    assert receiver.wait_for(1, timeout=0.3) == []


def test_only_the_change_types_asked_for(microsoft: MicrosoftEmulator, token: str,
                                         receiver: GraphReceiver) -> None:
    team = microsoft.calendar_ids(EMAIL)[1]
    assert graph(microsoft, "POST", "subscriptions", token, json=subscription(
        team, receiver.url(), changeType="deleted")).status_code == 201
    event = microsoft.add_event(team, meeting("Quiet"))
    microsoft.update_event(team, event["id"], {"subject": "Still quiet"})
    microsoft.delete_event(team, event["id"])
    assert [n["changeType"] for n in receiver.wait_for(1)] == ["deleted"]


def test_expiry_bounds_renewal_and_delete(microsoft: MicrosoftEmulator, token: str,
                                          receiver: GraphReceiver) -> None:
    team = microsoft.calendar_ids(EMAIL)[1]
    too_far = (datetime.now(UTC) + timedelta(days=8)).isoformat()
    refused = graph(microsoft, "POST", "subscriptions", token,
                    json=subscription(team, receiver.url(), expirationDateTime=too_far))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "ExtensionError"
    assert "10080 minutes" in refused.json()["error"]["message"]

    made = graph(microsoft, "POST", "subscriptions", token,
                 json=subscription(team, receiver.url())).json()
    later = (datetime.now(UTC) + timedelta(days=6)).replace(microsecond=0)
    renewed = graph(microsoft, "PATCH", f"subscriptions/{made['id']}", token,
                    json={"expirationDateTime": later.isoformat()})
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"].startswith(later.strftime("%Y-%m-%dT%H:%M:%S"))
    microsoft.add_account("bob@contoso.example")
    bob = microsoft.issue_tokens("bob@contoso.example", CLIENT_ID)["access_token"]
    assert graph(microsoft, "GET", f"subscriptions/{made['id']}", bob).status_code == 404
    assert graph(microsoft, "DELETE", f"subscriptions/{made['id']}", token).status_code == 204
    gone = graph(microsoft, "GET", f"subscriptions/{made['id']}", token)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "ResourceNotFound"


def test_lifecycle_notifications(microsoft: MicrosoftEmulator, token: str) -> None:
    team = microsoft.calendar_ids(EMAIL)[1]
    with GraphReceiver(client_state=SECRET_STATE) as changes, GraphReceiver(
            client_state=SECRET_STATE) as lifecycle:
        made = graph(microsoft, "POST", "subscriptions", token, json=subscription(
            team, changes.url(), lifecycleNotificationUrl=lifecycle.url("/hooks/lifecycle")))
        assert made.status_code == 201
        assert len(changes.validations) == 1 and len(lifecycle.validations) == 1
        sub_id = made.json()["id"]
        assert microsoft.lifecycle(sub_id, "reauthorizationRequired")
        assert graph(microsoft, "POST", f"subscriptions/{sub_id}/reauthorize",
                     token).status_code == 204
        assert microsoft.lifecycle(sub_id, "subscriptionRemoved")
        events = [n["lifecycleEvent"] for n in lifecycle.wait_for(2)]
        assert events == ["reauthorizationRequired", "subscriptionRemoved"]
        microsoft.add_event(team, meeting("After removal"))
        assert changes.wait_for(1, timeout=0.3) == []
        assert graph(microsoft, "GET", f"subscriptions/{sub_id}", token).status_code == 404

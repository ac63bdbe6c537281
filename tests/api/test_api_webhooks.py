"""Webhooks end to end: created through the API, fed by real answers, delivered to a real
receiver on loopback that verifies every signature; a receiver that fails, hangs and comes
back; a webhook disabled after failing too long; the SSRF guard; other users' webhooks."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import OutboxStatus
from calsync.jobs import effects
from calsync.models import OutboxEntry, Webhook
from calsync.services import prompts, webhooks
from tests import conftest, log_capture
from tests.api.conftest import Event, error_of, pending, upload
from tests.conftest import ApiClient
from tests.servers.webhook_receiver import Receiver

ALL = ["outcome.recorded", "followup.created", "followup.updated", "followup.cancelled",
       "deal.won", "deal.lost", "deal.reopened", "promise.delivered"]
ANSWER = "/api/v1/prompts/{}/answer"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, webhook_timeout_seconds=1)  # a hanging receiver costs a second


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def subscribe(api: ApiClient, receiver: Receiver, events: list[str] = ALL) -> dict[str, Any]:
    response = api.post("/api/v1/webhooks", json={"url": receiver.url(), "events": events})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    receiver.secret = created["secret"]
    return created


def two_prompts(api: ApiClient) -> dict[str, int]:
    upload(api, Event("demo-1", "Prospect demo", hours_ago=1),
           Event("other-1", "Other intro", hours_ago=3, attendees=("cfo@other.example",)))
    items = api.get("/api/v1/prompts?status=pending").get_json()["items"]
    return {item["meeting"]["title"]: item["id"] for item in items}


def step(days: int, summary: str = "Send pricing") -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(hour=9, minute=0, second=0,
                                                               microsecond=0)
    return {"summary": summary, "start": start.isoformat(), "channel": "email"}


def answer(api: ApiClient, prompt_id: int, **body: Any) -> dict[str, Any]:
    response = api.post(ANSWER.format(prompt_id), json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def types_since(receiver: Receiver, seen: int) -> Counter[str]:
    return Counter(event["type"] for event in receiver.received[seen:])


def deliveries(api: ApiClient, webhook_id: int) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["items"])


def webhook_entry(app: Flask) -> int:
    with app.app_context(), get_db().session() as session:
        entry_id = session.scalar(select(OutboxEntry.id).where(OutboxEntry.kind == webhooks.KIND)
                                  .order_by(OutboxEntry.id.desc()))
    assert entry_id is not None
    return int(entry_id)


def retry_now(app: Flask, settings: Settings, entry_id: int, hours: int = 1) -> OutboxEntry:
    """The worker's next attempt at the entry, `hours` ahead: past its backoff (and the
    lease of an attempt made fewer hours ahead)."""
    with app.app_context(), get_db().session() as worker:
        entry = effects.process(worker, settings, entry_id,
                                now=datetime.now(UTC) + timedelta(hours=hours))
        assert entry is not None
        return entry


def test_each_change_arrives_once_signed_with_its_own_stable_id(
        api: ApiClient, receiver: Receiver) -> None:
    webhook = subscribe(api, receiver)
    prompts = two_prompts(api)
    demo, other = prompts["Prospect demo"], prompts["Other intro"]

    planned = answer(api, demo, outcome="next_step", note="wants pricing", next_step=step(3))
    assert types_since(receiver, 0) == {"followup.created": 1, "outcome.recorded": 1}
    moved = answer(api, demo, outcome="next_step", next_step=step(5), replace=True)
    assert types_since(receiver, 2) == {"followup.updated": 1, "outcome.recorded": 1}
    answer(api, demo, outcome="yes", note="signed", replace=True, after_sale=[])  # no more
    assert types_since(receiver, 4) == {"followup.cancelled": 1, "outcome.recorded": 1,
                                        "deal.won": 1}
    answer(api, other, outcome="no", no_reason="no_budget")
    assert types_since(receiver, 7) == {"outcome.recorded": 1, "deal.lost": 1}

    assert receiver.problems == []  # every signature verified, every body JSON
    events = receiver.received
    assert len(events) == 9 == len({event["id"] for event in events})
    assert all(set(event) == {"id", "type", "created_at", "data"} for event in events)
    by_type = {event["type"]: event["data"] for event in events}
    followup = planned["followup"]
    created = next(e["data"] for e in events if e["type"] == "followup.created")
    assert created["followup"]["id"] == followup["id"]
    assert created["followup"]["summary"] == "Send pricing"
    assert created["followup"]["channel"] == "email" and created["followup"]["kind"] == "follow_up"
    assert created["deal"] == {**created["deal"], "id": planned["deal"]["id"], "status": "open"}
    updated = by_type["followup.updated"]["followup"]
    assert updated["start"] == moved["followup"]["start"].replace("Z", "+00:00")
    assert by_type["followup.cancelled"]["followup"]["status"] == "cancelled"
    assert by_type["deal.won"]["deal"]["status"] == "won"
    assert by_type["deal.won"]["note"] == "signed"
    assert by_type["deal.lost"]["no_reason"] == "no_budget"
    first_outcome = next(e["data"] for e in events if e["type"] == "outcome.recorded")
    assert first_outcome["outcome"] == "next_step" and first_outcome["note"] == "wants pricing"
    assert first_outcome["followup"]["id"] == followup["id"]
    assert first_outcome["meeting"]["title"] == "Prospect demo"

    logged = deliveries(api, webhook["id"])
    assert len(logged) == 9
    assert all(d["delivered_at"] and d["status_code"] == 204 and d["error"] is None
               and d["attempts"] == 1 for d in logged)
    sent = {d["event_id"]: json.loads(d["body"]) for d in logged}
    assert sent == {event["id"]: event for event in events}  # the exact bodies, as stored


def test_a_closed_deal_open_again_sends_deal_reopened(api: ApiClient,
                                                      receiver: Receiver) -> None:
    """A CRM told `deal.won` hears when the deal opens again: here the yes was changed to a
    next step."""
    subscribe(api, receiver, ["deal.won", "deal.lost", "deal.reopened"])
    demo = two_prompts(api)["Prospect demo"]
    deal = answer(api, demo, outcome="yes", after_sale=[])["deal"]["id"]
    answer(api, demo, outcome="next_step", next_step=step(3), replace=True)
    assert [event["type"] for event in receiver.received] == ["deal.won", "deal.reopened"]
    reopened = receiver.received[1]["data"]
    assert reopened["deal"]["id"] == deal and reopened["deal"]["status"] == "open"
    assert reopened["previous_status"] == "won"
    answer(api, demo, outcome="next_step", next_step=step(4), replace=True)  # still open
    assert len(receiver.received) == 2 and receiver.problems == []


def test_a_touch_moved_onto_a_deal_that_it_closes_sends_deal_won_or_lost(
        api: ApiClient, receiver: Receiver) -> None:
    subscribe(api, receiver, ["deal.won", "deal.lost"])
    prompts = two_prompts(api)
    demo, other = prompts["Prospect demo"], prompts["Other intro"]
    open_deal = answer(api, other, outcome="next_step", next_step=step(3))["deal"]["id"]
    answer(api, demo, outcome="no", no_reason="bad_timing", note="next quarter")
    assert [event["type"] for event in receiver.received] == ["deal.lost"]
    # The later meeting's "no" was about the other deal after all: moved there, it closes it.
    moved = api.post(f"/api/v1/prompts/{demo}/deal", json={"deal_id": open_deal})
    assert moved.status_code == 200, moved.get_json()
    assert [event["type"] for event in receiver.received] == ["deal.lost", "deal.lost"]
    closed = receiver.received[1]["data"]
    assert closed["deal"]["id"] == open_deal and closed["deal"]["status"] == "lost"
    assert (closed["prompt_id"], closed["note"], closed["no_reason"]) == (
        demo, "next quarter", "bad_timing")
    assert receiver.problems == []


def test_only_the_subscribed_events_are_sent(api: ApiClient, receiver: Receiver) -> None:
    subscribe(api, receiver, ["deal.won"])
    prompts = two_prompts(api)
    answer(api, prompts["Prospect demo"], outcome="next_step", next_step=step(2))
    answer(api, prompts["Other intro"], outcome="yes")
    assert [event["type"] for event in receiver.received] == ["deal.won"]


def test_a_receiver_that_fails_then_hangs_gets_the_event_again_with_the_same_id(
        app: Flask, settings: Settings, api: ApiClient, receiver: Receiver) -> None:
    webhook = subscribe(api, receiver, ["deal.won"])
    receiver.mode = "fail"
    answer(api, two_prompts(api)["Prospect demo"], outcome="yes")
    (failed,) = deliveries(api, webhook["id"])
    assert failed["status_code"] == 500 and failed["attempts"] == 1
    assert "HTTP 500" in failed["error"] and failed["delivered_at"] is None
    entry_id = webhook_entry(app)

    receiver.mode = "hang"
    assert retry_now(app, settings, entry_id).status is OutboxStatus.PENDING
    (hung,) = deliveries(api, webhook["id"])
    assert hung["attempts"] == 2 and hung["status_code"] is None
    assert hung["error"] == "No answer from 127.0.0.1 within 1 second."
    assert hung["duration_ms"] >= 1000

    receiver.mode = "ok"
    assert retry_now(app, settings, entry_id, hours=2).status is OutboxStatus.DONE
    (delivered,) = deliveries(api, webhook["id"])
    assert delivered["attempts"] == 3 and delivered["status_code"] == 204
    assert delivered["error"] is None and delivered["delivered_at"]
    assert [a.answered for a in receiver.arrivals] == [500, None, 204]
    assert {a.event["id"] for a in receiver.arrivals} == {delivered["event_id"]}
    assert receiver.problems == []
    listed = api.get("/api/v1/webhooks").get_json()["items"][0]
    assert listed["failing_since"] is None and listed["disabled_at"] is None


def test_a_webhook_failing_past_the_limit_is_disabled_and_a_redelivery_revives_it(
        app: Flask, settings: Settings, api: ApiClient, receiver: Receiver) -> None:
    webhook = subscribe(api, receiver, ["deal.won", "deal.lost"])
    receiver.mode = "fail"
    prompts = two_prompts(api)
    answer(api, prompts["Prospect demo"], outcome="yes")
    entry_id = webhook_entry(app)
    with app.app_context(), get_db().session() as session:
        row = session.get(Webhook, webhook["id"])
        assert row is not None and row.failing_since is not None
        # Its first failure three days and a minute ago: the next failure is past the limit.
        row.failing_since = datetime.now(UTC) - timedelta(days=3, minutes=1)
        session.commit()

    assert retry_now(app, settings, entry_id).status is OutboxStatus.FAILED
    listed = api.get("/api/v1/webhooks").get_json()["items"][0]
    assert listed["disabled_at"] is not None
    assert listed["disabled_reason"].startswith("Every delivery failed for 3 days")
    answer(api, prompts["Other intro"], outcome="no")
    assert [d["type"] for d in deliveries(api, webhook["id"])] == ["deal.won"]  # none since

    receiver.mode = "ok"
    (failed,) = deliveries(api, webhook["id"])
    # Sent twice, failed twice: the last attempt stays as it was, and says none follows.
    assert failed["status_code"] == 500 and failed["duration_ms"] is not None
    assert failed["error"] == f"127.0.0.1 answered HTTP 500. {webhooks.NOT_RETRIED}"
    assert [a["status_code"] for a in failed["attempt_log"]] == [500, 500]
    response = api.post(f"/api/v1/webhooks/{webhook['id']}/deliveries/{failed['id']}/redeliver")
    assert response.status_code == 202, response.get_json()
    # The tests' queue runs inline: the new attempt was made before the answer.
    assert response.get_json()["delivered_at"] and response.get_json()["attempts"] == 3
    (sent,) = deliveries(api, webhook["id"])
    assert [(a["status_code"], a["error"]) for a in sent["attempt_log"]] == [
        (500, "127.0.0.1 answered HTTP 500."), (500, "127.0.0.1 answered HTTP 500."),
        (204, None)]
    assert sent["status_code"] == 204 and sent["error"] is None
    assert [event["id"] for event in receiver.received] == [failed["event_id"]]
    listed = api.get("/api/v1/webhooks").get_json()["items"][0]
    assert listed["disabled_at"] is None and listed["failing_since"] is None


def test_a_sent_delivery_held_back_by_a_disabled_webhook_keeps_its_last_attempt(
        app: Flask, settings: Settings, api: ApiClient, receiver: Receiver) -> None:
    webhook = subscribe(api, receiver, ["deal.won", "deal.lost"])
    receiver.mode = "fail"
    prompts = two_prompts(api)
    answer(api, prompts["Prospect demo"], outcome="yes")  # deal.won: tried once, failed
    won_entry = webhook_entry(app)
    with app.app_context(), get_db().session() as session:
        row = session.get(Webhook, webhook["id"])
        assert row is not None
        row.failing_since = datetime.now(UTC) - timedelta(days=3, minutes=1)
        session.commit()
    answer(api, prompts["Other intro"], outcome="no")  # deal.lost fails: that disables it
    assert retry_now(app, settings, won_entry).status is OutboxStatus.DONE  # not sent again
    lost, won = deliveries(api, webhook["id"])
    assert (lost["type"], won["type"]) == ("deal.lost", "deal.won")
    for delivery in (lost, won):
        assert delivery["attempts"] == 1 and delivery["status_code"] == 500
        assert delivery["duration_ms"] is not None and delivery["delivered_at"] is None
        assert delivery["error"] == ("127.0.0.1 answered HTTP 500. Not retried: the webhook "
                                     "was disabled.")
        assert len(delivery["attempt_log"]) == 1
    assert len(receiver.arrivals) == 2


def test_deliveries_are_listed_a_page_at_a_time(api: ApiClient, receiver: Receiver) -> None:
    webhook = subscribe(api, receiver)
    prompts = two_prompts(api)
    answer(api, prompts["Prospect demo"], outcome="next_step", next_step=step(3))
    answer(api, prompts["Other intro"], outcome="no")
    every = deliveries(api, webhook["id"])
    assert len(every) == 4
    base = f"/api/v1/webhooks/{webhook['id']}/deliveries"
    seen, url = [], f"{base}?limit=3"
    while url:
        page = api.get(url).get_json()
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        url = f"{base}?limit=3&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == [item["id"] for item in every]
    assert api.get(f"{base}?limit=4").get_json()["next_cursor"] is None
    assert error_of(api.get(f"{base}?cursor=forged"), 422)["field"] == "cursor"
    other = api.get("/api/v1/prompts?limit=1").get_json()["next_cursor"]
    assert error_of(api.get(f"{base}?cursor={other}"), 422)["field"] == "cursor"


def test_the_secret_is_shown_once_and_sealed_at_rest(app: Flask, api: ApiClient,
                                                     receiver: Receiver) -> None:
    created = subscribe(api, receiver, ["deal.won", "outcome.recorded"])
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["outcome.recorded", "deal.won"]
    listed = api.get("/api/v1/webhooks").get_json()["items"]
    assert listed == [{key: value for key, value in created.items() if key != "secret"}]
    with app.app_context(), get_db().session() as session:
        row = session.get(Webhook, created["id"])
        assert row is not None and created["secret"] not in row.secret_sealed


def test_bad_urls_events_and_private_addresses_are_refused_naming_the_field(
        app: Flask, settings: Settings, api: ApiClient, receiver: Receiver) -> None:
    def refused(body: dict[str, Any]) -> dict[str, Any]:
        return error_of(api.post("/api/v1/webhooks", json=body), 422)

    assert refused({"url": "ftp://crm.example/hook", "events": ["deal.won"]})["field"] == "url"
    assert refused({"url": "https:///hook", "events": ["deal.won"]})["field"] == "url"
    unknown = refused({"url": receiver.url(), "events": ["deal.won", "deal.closed"]})
    assert unknown["field"] == "events" and "deal.closed" in unknown["message"]
    assert refused({"url": receiver.url(), "events": []})["field"] == "events"
    assert refused({"url": receiver.url()})["field"] == "events"

    app.extensions["calsync.settings"] = replace(settings, allow_private_urls=False)
    for url in (receiver.url(), "http://localhost:9/hook", "http://[::1]/hook",
                "http://169.254.169.254/latest/meta-data"):
        error = refused({"url": url, "events": ["deal.won"]})
        assert error["field"] == "url" and "private or local" in error["message"], url
    assert api.get("/api/v1/webhooks").get_json()["items"] == []


def test_the_guard_refuses_a_private_address_at_delivery_too(
        app: Flask, settings: Settings, api: ApiClient, receiver: Receiver) -> None:
    webhook = subscribe(api, receiver, ["deal.won"])  # accepted while private URLs were allowed
    receiver.mode = "fail"
    answer(api, two_prompts(api)["Prospect demo"], outcome="yes")
    receiver.mode = "ok"
    guarded = replace(settings, allow_private_urls=False)  # a worker with the guard on
    assert retry_now(app, guarded, webhook_entry(app)).status is OutboxStatus.PENDING
    (delivery,) = deliveries(api, webhook["id"])
    assert delivery["error"] == "Refused: 127.0.0.1 is a private or local address."
    assert delivery["attempts"] == 2 and delivery["status_code"] is None
    assert [a.answered for a in receiver.arrivals] == [500]  # nothing reached it


def test_another_users_webhook_is_not_found(api: ApiClient, other_api: ApiClient,
                                            receiver: Receiver) -> None:
    webhook = subscribe(api, receiver, ["deal.won"])
    answer(api, two_prompts(api)["Prospect demo"], outcome="yes")
    (delivery,) = deliveries(api, webhook["id"])
    base = f"/api/v1/webhooks/{webhook['id']}"
    assert other_api.get("/api/v1/webhooks").get_json()["items"] == []
    error_of(other_api.get(f"{base}/deliveries"), 404)
    error_of(other_api.post(f"{base}/deliveries/{delivery['id']}/redeliver"), 404)
    error_of(other_api.delete(base), 404)
    error_of(api.post(f"{base}/deliveries/{delivery['id'] + 1}/redeliver"), 404)
    assert api.delete(base).status_code == 204
    error_of(api.get(f"{base}/deliveries"), 404)
    assert api.get("/api/v1/webhooks").get_json()["items"] == []


def test_neither_the_secret_nor_a_signature_is_ever_logged(
        caplog: pytest.LogCaptureFixture, app: Flask, settings: Settings, api: ApiClient,
        receiver: Receiver) -> None:
    caplog.set_level(logging.DEBUG)
    webhook = subscribe(api, receiver, ["deal.won"])
    receiver.mode = "fail"
    answer(api, two_prompts(api)["Prospect demo"], outcome="yes")
    receiver.mode = "ok"
    retry_now(app, settings, webhook_entry(app))
    signatures = [a.signature.partition("v1=")[2] for a in receiver.arrivals]
    assert len(signatures) == 2 and all(signatures)
    lines = [caplog.text, *conftest._session_log.lines()]
    assert log_capture.leaks(lines, [webhook["secret"], *signatures]) == []


def test_a_delivered_promise_is_sent_once(api: ApiClient, receiver: Receiver) -> None:
    subscribe(api, receiver, ["promise.delivered", "followup.created"])
    due = (datetime.now(UTC) + timedelta(days=10)).replace(hour=15, minute=0, second=0,
                                                           microsecond=0)
    promise = {"summary": "Send pricing", "start": (due - timedelta(days=2)).isoformat(),
               "promise_due": due.isoformat(), "value_note": "pricing for the pilot"}
    followup = answer(api, two_prompts(api)["Prospect demo"], outcome="next_step",
                      next_step=promise)["followup"]
    for _ in range(2):  # delivering again answers the delivery already recorded
        response = api.post(f"/api/v1/followups/{followup['id']}/delivered")
        assert response.status_code == 200, response.get_json()
    delivered = [e["data"] for e in receiver.received if e["type"] == "promise.delivered"]
    assert len(delivered) == 1
    assert delivered[0]["followup"]["id"] == followup["id"]
    assert delivered[0]["followup"]["kind"] == "promise"
    assert delivered[0]["followup"]["value_note"] == "pricing for the pilot"
    assert delivered[0]["followup"]["delivered_at"] and delivered[0]["followup"]["promise_due"]
    assert delivered[0]["followup"]["promise_timing"] == "early"
    created = [e["data"]["followup"]["kind"] for e in receiver.received
               if e["type"] == "followup.created"]
    assert created == ["promise", "follow_through"]
    assert receiver.problems == []


def test_delivered_on_its_prompt_records_that_answer_too(app: Flask, api: ApiClient,
                                                         receiver: Receiver) -> None:
    subscribe(api, receiver, ["promise.delivered", "outcome.recorded"])
    due = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    promise = {"summary": "Send pricing", "start": (due - timedelta(days=3)).isoformat(),
               "promise_due": due.isoformat()}
    followup = answer(api, two_prompts(api)["Prospect demo"], outcome="next_step",
                      next_step=promise)["followup"]
    asked_at = datetime.fromisoformat(followup["end"]) + timedelta(hours=1)
    with app.app_context(), get_db().session() as session:
        prompts.create_due_prompts(session, app.extensions["calsync.settings"], asked_at)
    asked = pending(api)["Send pricing"]
    seen = len(receiver.received)
    assert api.post(f"/api/v1/followups/{followup['id']}/delivered").status_code == 200
    assert types_since(receiver, seen) == {"promise.delivered": 1, "outcome.recorded": 1}
    recorded = next(e["data"] for e in receiver.received[seen:]
                    if e["type"] == "outcome.recorded")
    assert (recorded["prompt_id"], recorded["outcome"]) == (asked["id"], "next_step")
    assert recorded["followup"]["kind"] == "follow_through"

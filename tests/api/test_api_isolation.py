"""A user sees and changes only their own data: another user's ids are 404 on every route."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from calsync.db import get_db
from calsync.models import User
from calsync.web.api.registry import OPERATIONS
from tests.api.conftest import Event, error_of, pending, upload

LATER = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat()
VALID_BODIES: dict[str, Any] = {
    "answer_prompt": {"outcome": "next_step", "next_step": {"summary": "x", "start": LATER}},
    "snooze_prompt": {"until": LATER},
    "dismiss_prompt": {"skip_series": True},
    "didnt_happen": {"reschedule": {"summary": "x", "start": LATER}},
    "move_prompt": {"name": "Stolen"},
    "rename_deal": {"name": "Stolen"},
    "update_source": {"calendar_written": "stolen@example.com"},
    "followup_missed_reason": {"reason": "forgot"},
    "reschedule_followup": {"start": LATER},
    "promise_delivered": {},
}
WITH_IDS = [op for op in OPERATIONS if "<" in op.rule]


@pytest.fixture
def victim(api) -> dict[str, int]:
    """Ana's ids: a source, a prompt, a deal, a follow-up, a webhook and its delivery."""
    webhook = api.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                 "events": ["followup.created"]}).get_json()
    source = upload(api, Event("a", "Demo"), Event("b", "Intro", hours_ago=2,
                                                   attendees=("cfo@other.example",)))
    prompts = pending(api)
    answered = api.post(f"/api/v1/prompts/{prompts['Intro']['id']}/answer",
                        json={"outcome": "next_step",
                              "next_step": {"summary": "Offer", "start": LATER}}).get_json()
    return {"source_id": source["id"], "prompt_id": prompts["Demo"]["id"],
            "deal_id": prompts["Demo"]["deal"]["id"], "followup_id": answered["followup"]["id"],
            "webhook_id": webhook["id"], "delivery_id": api.get(
                f"/api/v1/webhooks/{webhook['id']}/deliveries").get_json()["items"][0]["id"]}


def test_every_route_with_an_id_is_covered() -> None:
    names = {op.name for op in WITH_IDS}
    assert {"get_source", "sync_source", "delete_source", "get_prompt", "answer_prompt",
            "snooze_prompt", "dismiss_prompt", "didnt_happen", "move_prompt", "get_deal",
            "uncover_prompt",
            "get_followup", "followup_missed_reason", "reschedule_followup"} <= names
    assert all(op.body is None or op.name in VALID_BODIES for op in WITH_IDS)


@pytest.mark.parametrize("op", WITH_IDS, ids=lambda op: f"{op.method} {op.rule}")
def test_another_users_ids_are_404(api, other_api, victim, op) -> None:
    path = "/api/v1" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(victim[m.group(1)]), op.rule)
    response = other_api.client.open(path, method=op.method, headers=other_api.headers,
                                     json=VALID_BODIES.get(op.name))
    assert error_of(response, 404)["code"] == "not_found"
    # ... and the owner still sees it unchanged.
    assert api.get(f"/api/v1/sources/{victim['source_id']}").status_code == 200
    prompt = api.get(f"/api/v1/prompts/{victim['prompt_id']}").get_json()
    assert prompt["status"] == "pending" and prompt["deal"]["id"] == victim["deal_id"]


def test_lists_show_only_ones_own(api, other_api, victim) -> None:
    for path in ("sources", "meetings", "prompts", "deals", "followups"):
        assert other_api.get(f"/api/v1/{path}").get_json() == {"items": [], "next_cursor": None}
        assert api.get(f"/api/v1/{path}").get_json()["items"]
    error_of(other_api.get(f"/api/v1/meetings?source_id={victim['source_id']}"), 404)


def test_another_users_deal_cannot_take_ones_prompt(api, other_api, victim) -> None:
    upload(other_api, Event("mine", "Bo's demo"))
    [own] = pending(other_api).values()
    response = other_api.post(f"/api/v1/prompts/{own['id']}/deal",
                              json={"deal_id": victim["deal_id"]})
    error_of(response, 404)
    assert api.get(f"/api/v1/deals/{victim['deal_id']}").get_json()["touches"] == 0


def test_cursors_do_not_cross_users(api, other_api, victim) -> None:
    upload(api, Event("c", "More"), name="another")
    cursor = api.get("/api/v1/sources?limit=1").get_json()["next_cursor"]
    assert other_api.get(f"/api/v1/sources?cursor={cursor}").get_json()["items"] == []


def test_me_and_feed_answer_for_the_caller(app, api, other_api) -> None:
    mine, theirs = api.get("/api/v1/me").get_json(), other_api.get("/api/v1/me").get_json()
    assert (mine["email"], theirs["email"]) == ("ana@acme-sales.com", "bo@rival-sales.com")
    assert mine["id"] != theirs["id"]
    with app.app_context(), get_db().session() as session:
        tokens = {u.email: u.feed_token for u in session.scalars(select(User))}
    for caller, email in ((api, "ana@acme-sales.com"), (other_api, "bo@rival-sales.com")):
        feed = caller.get("/api/v1/feed").get_json()
        assert feed["url"].endswith(f"/feed/{tokens[email]}.ics")
        assert feed["webcal_url"].endswith(f"/feed/{tokens[email]}.ics")


def test_rotating_changes_only_the_callers_feed(app, api, other_api) -> None:
    mine, theirs = api.get("/api/v1/feed").get_json(), other_api.get("/api/v1/feed").get_json()
    rotated = other_api.post("/api/v1/feed/rotate").get_json()
    assert rotated["url"] != theirs["url"]
    assert other_api.get("/api/v1/feed").get_json() == rotated
    assert api.get("/api/v1/feed").get_json() == mine  # Ana's address still stands...
    client = api.client
    assert client.get(urlsplit(mine["url"]).path).status_code == 200  # ...and still works
    assert client.get(urlsplit(theirs["url"]).path).status_code == 404
    assert client.get(urlsplit(rotated["url"]).path).status_code == 200

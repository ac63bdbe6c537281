"""The API side of a deal that moved on: an answer lists what it covered, uncover puts a
prompt back (409 when not covered, 404 for another user's); a next step in a busy time is
saved with the clash named; snooze, dismiss and didn't-happen keep a note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from calsync.db import get_db
from calsync.models import Prompt
from tests.api.conftest import Event, error_of, pending, upload

LATER = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)


@pytest.fixture
def three(api: Any) -> dict[str, dict[str, Any]]:
    """Three ended meetings with the same prospect (one deal), and a meeting ahead that
    fills a morning: "Weekly pipeline review"."""
    upload(api,
           Event("d-1", "Intro", hours_ago=50),
           Event("d-2", "Demo", hours_ago=26),
           Event("d-3", "Pricing", hours_ago=2),
           Event("busy", "Weekly pipeline review", hours_ago=-24 * 6, minutes=120,
                 attendees=("colleague@acme-sales.com",)))
    found = pending(api)
    assert {found[t]["deal"]["id"] for t in ("Intro", "Demo", "Pricing")} == {
        found["Intro"]["deal"]["id"]}
    return found


def stored_note(app: Flask, prompt_id: int) -> str:
    with app.app_context(), get_db().session() as session:
        prompt = session.get(Prompt, prompt_id)
        assert prompt is not None
        return prompt.note


def test_an_answer_lists_the_prompts_it_covered(api, three) -> None:
    answered = api.post(f"/api/v1/prompts/{three['Pricing']['id']}/answer",
                        json={"outcome": "yes"}).get_json()
    assert sorted(answered["covered"]) == sorted([three["Intro"]["id"], three["Demo"]["id"]])
    assert pending(api) == {}  # the meeting ahead has no prompt yet
    demo = api.get(f"/api/v1/prompts/{three['Demo']['id']}").get_json()
    assert demo["status"] == "covered" and demo["suggestion"] is None
    assert demo["covered_by"] == three["Pricing"]["id"]
    assert api.get("/api/v1/prompts?status=covered").get_json()["items"]
    deal = api.get(f"/api/v1/deals/{three['Pricing']['deal']['id']}").get_json()
    assert deal["touches"] == 3


def test_a_changed_answer_covers_nothing_more(api, three) -> None:
    path = f"/api/v1/prompts/{three['Pricing']['id']}/answer"
    assert len(api.post(path, json={"outcome": "yes"}).get_json()["covered"]) == 2
    again = api.post(path, json={"outcome": "no", "replace": True}).get_json()
    assert again["covered"] == []


def test_uncover_puts_a_covered_prompt_back_in_the_inbox(api, three) -> None:
    api.post(f"/api/v1/prompts/{three['Pricing']['id']}/answer", json={"outcome": "yes"})
    response = api.post(f"/api/v1/prompts/{three['Demo']['id']}/uncover")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "pending"
    assert response.get_json()["covered_by"] is None
    assert set(pending(api)) == {"Demo"}
    # Not covered any more: nothing to undo.
    again = api.post(f"/api/v1/prompts/{three['Demo']['id']}/uncover")
    assert error_of(again, 409)["code"] == "prompt_closed"


def test_another_users_prompt_cannot_be_uncovered(api, other_api, three) -> None:
    api.post(f"/api/v1/prompts/{three['Pricing']['id']}/answer", json={"outcome": "yes"})
    response = other_api.post(f"/api/v1/prompts/{three['Demo']['id']}/uncover")
    assert error_of(response, 404)["code"] == "not_found"
    assert api.get(f"/api/v1/prompts/{three['Demo']['id']}").get_json()["status"] == "covered"


def test_a_next_step_in_a_busy_time_is_saved_with_the_clash_named(api, three) -> None:
    busy_start = datetime.now(UTC) + timedelta(days=6) - timedelta(hours=2)
    start = (busy_start + timedelta(minutes=30)).replace(microsecond=0)
    response = api.post(f"/api/v1/prompts/{three['Pricing']['id']}/answer", json={
        "outcome": "next_step", "next_step": {"summary": "Send the offer",
                                              "start": start.isoformat()}})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["followup"]["summary"] == "Send the offer"
    assert body["warning"].endswith("clashes with “Weekly pipeline review”.")


def test_snooze_dismiss_and_didnt_happen_keep_a_note(app, api, three) -> None:
    intro, demo, pricing = three["Intro"]["id"], three["Demo"]["id"], three["Pricing"]["id"]
    snoozed = api.post(f"/api/v1/prompts/{intro}/snooze",
                       json={"until": LATER.isoformat(), "note": "Call back about budget"})
    assert snoozed.status_code == 200 and snoozed.get_json()["status"] == "snoozed"
    assert stored_note(app, intro) == "Call back about budget"
    assert snoozed.get_json()["note"] == "Call back about budget"  # shown where it is kept
    dismissed = api.post(f"/api/v1/prompts/{demo}/dismiss", json={"note": "Internal prep"})
    assert dismissed.status_code == 200
    assert stored_note(app, demo) == "Internal prep"
    moved = api.post(f"/api/v1/prompts/{pricing}/didnt_happen", json={
        "note": "They cancelled last minute",
        "reschedule": {"summary": "Pricing", "start": LATER.isoformat()}})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert stored_note(app, pricing) == "They cancelled last minute"
    assert moved.get_json()["followup"]["note"] == "They cancelled last minute"


def test_a_note_left_out_keeps_the_stored_one_and_a_long_one_is_refused(app, api,
                                                                        three) -> None:
    intro = three["Intro"]["id"]
    api.post(f"/api/v1/prompts/{intro}/snooze",
             json={"until": LATER.isoformat(), "note": "Kept"})
    api.post(f"/api/v1/prompts/{intro}/dismiss", json={})
    assert stored_note(app, intro) == "Kept"
    demo = three["Demo"]["id"]
    too_long = api.post(f"/api/v1/prompts/{demo}/dismiss", json={"note": "x" * 20_001})
    assert error_of(too_long, 422)["field"] == "note"

"""A promise through the API: promise_due and value_note on an answer, kind on the
follow-up, "not yet", delivered with its timing and follow-through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calsync.db import get_db
from calsync.services import prompts as inbox
from tests.api.conftest import error_of, pending
from tests.promise_dates import wednesday_at_four

ANSWER = "/api/v1/prompts/{}/answer"


def test_promise_not_yet_delivered_and_follow_through(app, api, prompts) -> None:
    due = wednesday_at_four()
    step = {"summary": "Send pricing", "start": (due + timedelta(hours=1)).isoformat(),
            "promise_due": due.replace(tzinfo=None).isoformat(),  # read in the user's zone
            "value_note": "pricing for the pilot"}
    answered = api.post(ANSWER.format(prompts["Prospect demo"]["id"]),
                        json={"outcome": "next_step", "next_step": step})
    assert answered.status_code == 200, answered.get_data(as_text=True)
    followup = answered.get_json()["followup"]
    assert followup["kind"] == "promise" and followup["value_note"] == "pricing for the pilot"
    assert followup["promise_due"] == due.astimezone(UTC).isoformat()
    # A working day ahead of the deadline (Tuesday 16:00 in Berlin).
    assert datetime.fromisoformat(followup["start"]) == due - timedelta(days=1)
    assert followup["delivered_at"] is None and followup["promise_timing"] is None

    later = datetime.fromisoformat(followup["end"]) + timedelta(hours=1)
    with app.app_context(), get_db().session() as session:
        inbox.create_due_prompts(session, app.extensions["calsync.settings"], later)
    asked = pending(api)["Send pricing"]
    not_yet = api.post(f"/api/v1/prompts/{asked['id']}/not_yet")
    assert not_yet.status_code == 200, not_yet.get_data(as_text=True)
    assert not_yet.get_json()["status"] == "snoozed" and not_yet.get_json()["warning"] is None
    moved = not_yet.get_json()["followup"]
    assert datetime.fromisoformat(moved["end"]) <= due

    delivered = api.post(f"/api/v1/followups/{followup['id']}/delivered")
    assert delivered.status_code == 200, delivered.get_data(as_text=True)
    body = delivered.get_json()
    assert body["timing"] == "early" and body["prompt_id"] == asked["id"]
    assert body["followup"]["delivered_at"] is not None
    assert body["followup"]["promise_timing"] == "early"
    through = body["follow_through"]
    assert through["kind"] == "follow_through" and through["status"] == "planned"
    answered_prompt = api.get(f"/api/v1/prompts/{asked['id']}").get_json()
    assert answered_prompt["outcome"]["outcome"] == "next_step"
    assert answered_prompt["outcome"]["followup_id"] == through["id"]
    coach = api.get("/api/v1/coach").get_json()
    assert coach["promises"] == {"early": 1, "on_time": 0, "late": 0}
    assert api.get("/api/v1/stats").get_json()["promises"] == coach["promises"]  # the dashboard's
    # Sent again: the same delivery, no second follow-through.
    again = api.post(f"/api/v1/followups/{followup['id']}/delivered", json={}).get_json()
    assert again["follow_through"]["id"] == through["id"]


def test_delivered_refuses_a_plain_follow_up_and_a_future_time(api, prompts) -> None:
    step = {"summary": "Call", "start": wednesday_at_four().isoformat()}
    plain = api.post(ANSWER.format(prompts["Prospect demo"]["id"]),
                     json={"outcome": "next_step", "next_step": step}).get_json()["followup"]
    assert plain["kind"] == "follow_up"
    refused = api.post(f"/api/v1/followups/{plain['id']}/delivered", json={})
    assert error_of(refused, 422)["field"] == "followup"
    promised = {**step, "promise_due": (wednesday_at_four() + timedelta(days=7)).isoformat()}
    promise = api.post(ANSWER.format(prompts["Other intro"]["id"]),
                       json={"outcome": "next_step", "next_step": promised}).get_json()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused = api.post(f"/api/v1/followups/{promise['followup']['id']}/delivered",
                       json={"at": future})
    assert error_of(refused, 422)["field"] == "at"


def test_a_promise_due_in_the_past_is_refused(api, prompts) -> None:
    step = {"summary": "Send pricing", "start": wednesday_at_four().isoformat(),
            "promise_due": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    refused = api.post(ANSWER.format(prompts["Prospect demo"]["id"]),
                       json={"outcome": "next_step", "next_step": step})
    assert error_of(refused, 422)["field"] == "next_step.promise_due"


def test_a_yes_plans_the_after_sale_touches_listed(api, prompts) -> None:
    answered = api.post(ANSWER.format(prompts["Prospect demo"]["id"]),
                        json={"outcome": "yes", "after_sale": ["check_in", "upsell"]})
    assert answered.status_code == 200, answered.get_data(as_text=True)
    body = answered.get_json()
    assert [f["kind"] for f in body["followups"]] == ["check_in", "upsell"]
    assert body["deal"]["id"] and body["followup"] is None
    deal = api.get(f"/api/v1/deals/{body['deal']['id']}").get_json()
    assert deal["status"] == "won"
    planned = api.get("/api/v1/followups?status=planned").get_json()["items"]
    assert {f["kind"] for f in planned} == {"check_in", "upsell"}
    # Absent: the cadence's ticks (none by default); a no may not ask for them.
    other = api.post(ANSWER.format(prompts["Other intro"]["id"]), json={"outcome": "yes"})
    assert other.get_json()["followups"] == []
    refused = api.post(ANSWER.format(prompts["Other intro"]["id"]),
                       json={"outcome": "no", "after_sale": ["check_in"], "replace": True})
    assert error_of(refused, 422)["field"] == "after_sale"
    unknown = api.post(ANSWER.format(prompts["Other intro"]["id"]),
                       json={"outcome": "yes", "after_sale": ["revisit"], "replace": True})
    assert unknown.status_code == 422


def test_a_no_for_bad_timing_plans_a_revisit(api, prompts) -> None:
    answered = api.post(ANSWER.format(prompts["Prospect demo"]["id"]),
                        json={"outcome": "no", "no_reason": "bad_timing"}).get_json()
    [revisit] = answered["followups"]
    assert revisit["kind"] == "revisit" and revisit["status"] == "planned"
    declined = api.post(ANSWER.format(prompts["Other intro"]["id"]),
                        json={"outcome": "no", "no_reason": "bad_timing", "revisit": False})
    assert declined.get_json()["followups"] == []

"""Prompts through the API: the inbox, answering, and the other things one can do with one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calsync.db import get_db
from calsync.models import SkippedSeries
from tests.api.conftest import Event, error_of, ics_text, pending, upload
from tests.servers.http_files import FileServer

ANSWER = "/api/v1/prompts/{}/answer"


def _next_week(hour: int = 9) -> str:
    day = datetime.now(UTC) + timedelta(days=7)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0).isoformat()


def test_inbox_lists_ended_meetings_with_deal_and_suggestion(api, prompts) -> None:
    assert set(prompts) == {"Prospect demo", "Other intro"}
    demo = prompts["Prospect demo"]
    assert demo["status"] == "pending" and demo["outcome"] is None
    assert demo["meeting"]["attendees"][-1] == {
        "email": "buyer@prospect.example", "name": "", "response": "accepted"}
    assert demo["meeting"]["start"].endswith("+00:00")
    assert demo["deal"] == {"id": demo["deal"]["id"], "name": "Prospect",
                            "touches": 0, "touch_number": 1}
    suggestion = demo["suggestion"]
    assert suggestion["channel"] == "email" and suggestion["duration_minutes"] == 30
    assert suggestion["touch_number"] == 2 and suggestion["suggest_close"] is False
    assert suggestion["start"].endswith("+00:00") and "Touch 2" in suggestion["message"]
    # Newest touch first, and one prompt reads the same alone as in the list.
    listed = api.get("/api/v1/prompts").get_json()["items"]
    assert [p["meeting"]["title"] for p in listed] == ["Prospect demo", "Other intro"]
    assert api.get(f"/api/v1/prompts/{demo['id']}").get_json() == demo


def test_next_step_plans_a_followup_on_the_deal(api, prompts) -> None:
    demo = prompts["Prospect demo"]
    body = {"outcome": "next_step", "note": "wants pricing",
            "next_step": {"summary": "Send pricing", "start": _next_week(),
                          "duration_minutes": 45, "channel": "call"}}
    response = api.post(ANSWER.format(demo["id"]), json=body)
    assert response.status_code == 200, response.get_json()
    answered = response.get_json()
    followup = answered["followup"]
    assert followup["summary"] == "Send pricing" and followup["channel"] == "call"
    assert followup["status"] == "planned" and followup["deal_id"] == demo["deal"]["id"]
    start, end = datetime.fromisoformat(followup["start"]), datetime.fromisoformat(followup["end"])
    assert end - start == timedelta(minutes=45)
    assert answered["warning"] is None
    assert answered["status"] == "answered" and answered["suggestion"] is None
    assert answered["outcome"]["outcome"] == "next_step"
    assert answered["outcome"]["note"] == "wants pricing"
    assert answered["outcome"]["followup_id"] == followup["id"]
    assert answered["deal"]["touches"] == 1

    assert api.get("/api/v1/followups").get_json()["items"] == [followup]
    assert api.get(f"/api/v1/followups/{followup['id']}").get_json() == followup
    deal = api.get(f"/api/v1/deals/{demo['deal']['id']}").get_json()
    assert deal["status"] == "open" and deal["touches"] == 1
    assert deal["needs_next_touch"] is False and deal["next_followup"] == followup
    assert [(e["kind"], (e["prompt"] or e["followup"])["id"]) for e in deal["timeline"]] == [
        ("touch", demo["id"]), ("followup", followup["id"])]
    assert set(pending(api)) == {"Other intro"}


def test_next_step_defaults_and_local_times(api, prompts) -> None:
    """No offset: the user's zone (Europe/Berlin); duration and channel from the cadence."""
    demo = prompts["Prospect demo"]
    local = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT10:00:00")
    body = {"outcome": "next_step", "next_step": {"summary": "Call back", "start": local}}
    followup = api.post(ANSWER.format(demo["id"]), json=body).get_json()["followup"]
    start = datetime.fromisoformat(followup["start"])
    assert start.utcoffset() == timedelta(0)
    assert start.hour in (8, 9)  # 10:00 in Berlin, summer or winter
    assert followup["channel"] == demo["suggestion"]["channel"]
    assert datetime.fromisoformat(followup["end"]) - start == timedelta(minutes=30)


def test_a_next_step_too_soon_gets_the_spacing_warning(api, prompts) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    body = {"outcome": "next_step", "next_step": {"summary": "Ping", "start": soon}}
    answered = api.post(ANSWER.format(prompts["Prospect demo"]["id"]), json=body).get_json()
    assert "between touches" in answered["warning"]


def test_yes_wins_the_deal_and_no_loses_it(api, prompts) -> None:
    won = api.post(ANSWER.format(prompts["Prospect demo"]["id"]),
                   json={"outcome": "yes", "note": "signed"}).get_json()
    assert won["followup"] is None and won["outcome"]["outcome"] == "yes"
    assert api.get(f"/api/v1/deals/{won['deal']['id']}").get_json()["status"] == "won"
    lost = api.post(ANSWER.format(prompts["Other intro"]["id"]),
                    json={"outcome": "no", "no_reason": "no_budget"}).get_json()
    assert lost["outcome"]["no_reason"] == "no_budget"
    assert api.get(f"/api/v1/deals/{lost['deal']['id']}").get_json()["status"] == "lost"
    assert [d["status"] for d in api.get("/api/v1/deals?status=won").get_json()["items"]] == [
        "won"]


def test_changing_a_next_step_to_yes_cancels_the_followup(api, prompts) -> None:
    prompt_id = prompts["Prospect demo"]["id"]
    step = {"summary": "Demo 2", "start": _next_week()}
    followup = api.post(ANSWER.format(prompt_id),
                        json={"outcome": "next_step", "next_step": step}).get_json()["followup"]
    api.post(ANSWER.format(prompt_id),
             json={"outcome": "yes", "replace": True, "after_sale": []})  # none after it
    assert api.get(f"/api/v1/followups/{followup['id']}").get_json()["status"] == "cancelled"
    assert api.get("/api/v1/followups?status=planned").get_json()["items"] == []


def test_a_past_followup_is_prompted_like_a_meeting(app, api, prompts) -> None:
    from calsync.services import prompts as inbox
    step = {"summary": "Quick call", "start": _next_week()}
    followup = api.post(ANSWER.format(prompts["Prospect demo"]["id"]),
                        json={"outcome": "next_step", "next_step": step}).get_json()["followup"]
    later = datetime.fromisoformat(followup["end"]) + timedelta(hours=1)
    with app.app_context(), get_db().session() as session:
        inbox.create_due_prompts(session, app.extensions["calsync.settings"], later)
    item = pending(api)["Quick call"]
    assert item["meeting"]["followup_id"] == followup["id"]
    assert item["meeting"]["id"] is None and item["meeting"]["attendees"] == []
    assert item["deal"]["touch_number"] == 2


def test_snooze_hides_until_then(api, prompts) -> None:
    prompt = prompts["Prospect demo"]
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    snoozed = api.post(f"/api/v1/prompts/{prompt['id']}/snooze", json={"until": until})
    assert snoozed.status_code == 200
    assert snoozed.get_json()["status"] == "snoozed"
    assert snoozed.get_json()["snoozed_until"].endswith("+00:00")
    assert snoozed.get_json()["suggestion"] is not None
    assert set(pending(api)) == {"Other intro"}
    listed = api.get("/api/v1/prompts?status=snoozed").get_json()["items"]
    assert [p["id"] for p in listed] == [prompt["id"]]
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    error = error_of(api.post(f"/api/v1/prompts/{prompt['id']}/snooze", json={"until": past}),
                     422)
    assert error["field"] == "until"


def test_dismiss_and_skip_the_series(app, api, prompts) -> None:
    prompt = prompts["Other intro"]
    dismissed = api.post(f"/api/v1/prompts/{prompt['id']}/dismiss", json={"skip_series": False})
    assert dismissed.status_code == 200
    assert dismissed.get_json()["status"] == "dismissed"
    assert dismissed.get_json()["dismiss_reason"] == "not_sales"
    again = api.post(f"/api/v1/prompts/{prompt['id']}/dismiss", json={})
    assert error_of(again, 409)["code"] == "prompt_closed"
    # A plain dismiss needs no body at all.
    plain = api.client.post(f"/api/v1/prompts/{prompts['Prospect demo']['id']}/dismiss",
                            headers=api.headers)
    assert plain.get_json()["status"] == "dismissed"
    assert pending(api) == {}

    upload(api, Event("weekly", "Standup", hours_ago=49, rrule="FREQ=DAILY;COUNT=3"))
    standups = api.get("/api/v1/prompts?status=pending").get_json()["items"]
    assert len(standups) == 3
    skipped = api.post(f"/api/v1/prompts/{standups[0]['id']}/dismiss", json={"skip_series": True})
    assert skipped.status_code == 200
    with app.app_context(), get_db().session() as session:
        assert [row.series_uid for row in session.query(SkippedSeries)] == ["weekly"]


def test_didnt_happen_with_a_new_time(api, prompts) -> None:
    prompt = prompts["Prospect demo"]
    reschedule = {"summary": "Demo, take two", "start": _next_week(), "channel": "meeting"}
    response = api.post(f"/api/v1/prompts/{prompt['id']}/didnt_happen",
                        json={"reschedule": reschedule})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "dismissed" and body["dismiss_reason"] == "didnt_happen"
    assert body["outcome"] is None
    assert body["followup"]["summary"] == "Demo, take two"
    assert body["followup"]["channel"] == "meeting"
    without = api.post(f"/api/v1/prompts/{prompts['Other intro']['id']}/didnt_happen")
    assert without.status_code == 200 and without.get_json()["followup"] is None
    again = api.post(f"/api/v1/prompts/{prompt['id']}/didnt_happen", json={"reschedule": None})
    assert error_of(again, 409)["code"] == "prompt_closed"


def test_didnt_happen_names_the_reschedule_field(api, prompts) -> None:
    prompt = prompts["Prospect demo"]
    bad = api.post(f"/api/v1/prompts/{prompt['id']}/didnt_happen",
                   json={"reschedule": {"summary": "  ", "start": _next_week()}})
    error = error_of(bad, 422)
    assert error["field"] == "reschedule.summary" and "reschedule.summary" in error["message"]


def test_move_to_another_or_a_new_deal(api, prompts) -> None:
    demo, other = prompts["Prospect demo"], prompts["Other intro"]
    moved = api.post(f"/api/v1/prompts/{demo['id']}/deal", json={"deal_id": other["deal"]["id"]})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["deal"]["id"] == other["deal"]["id"]
    fresh = api.post(f"/api/v1/prompts/{demo['id']}/deal", json={"name": "Big one"}).get_json()
    assert fresh["deal"]["name"] == "Big one"
    assert fresh["deal"]["id"] not in (demo["deal"]["id"], other["deal"]["id"])
    assert api.get(f"/api/v1/deals/{fresh['deal']['id']}").get_json()["name"] == "Big one"
    for body in ({}, {"deal_id": 1, "name": "both"}):
        assert error_of(api.post(f"/api/v1/prompts/{demo['id']}/deal", json=body), 422)
    error = error_of(api.post(f"/api/v1/prompts/{demo['id']}/deal", json={"name": " "}), 422)
    assert error["field"] == "name"


def test_a_meeting_gone_from_its_feed_withdraws_its_prompt(api) -> None:
    with FileServer() as server:
        url = server.serve("/cal.ics", ics_text(Event("gone", "Soon cancelled")))
        source = api.post("/api/v1/sources", json={"kind": "ics", "url": url}).get_json()
        [prompt] = pending(api).values()
        server.serve("/cal.ics", ics_text())
        synced = api.post(f"/api/v1/sources/{source['id']}/sync")
    assert synced.get_json()["status"] == "ok"
    withdrawn = api.get(f"/api/v1/prompts/{prompt['id']}").get_json()
    assert withdrawn["status"] == "withdrawn" and withdrawn["suggestion"] is None
    assert withdrawn["meeting"]["status"] == "cancelled"
    closed = api.post(ANSWER.format(prompt["id"]), json={"outcome": "yes"})
    assert error_of(closed, 409)["code"] == "prompt_closed"


def test_a_next_step_in_the_past_or_years_ahead_is_refused(api, prompts) -> None:
    prompt_id = prompts["Prospect demo"]["id"]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    far = (datetime.now(UTC) + timedelta(days=3 * 365)).isoformat()
    for start, words in ((yesterday, "already passed"), (far, "two years ahead")):
        body = {"outcome": "next_step", "next_step": {"summary": "Call", "start": start}}
        error = error_of(api.post(ANSWER.format(prompt_id), json=body), 422)
        assert error["field"] == "next_step.start" and words in error["message"]
        rescheduled = api.post(f"/api/v1/prompts/{prompt_id}/didnt_happen",
                               json={"reschedule": {"summary": "Demo", "start": start}})
        assert error_of(rescheduled, 422)["field"] == "reschedule.start"
    assert api.get(f"/api/v1/prompts/{prompt_id}").get_json()["status"] == "pending"
    assert api.get("/api/v1/followups").get_json()["items"] == []


def test_an_answered_prompt_is_only_changed_with_replace(api, prompts) -> None:
    prompt_id = prompts["Prospect demo"]["id"]
    assert api.post(ANSWER.format(prompt_id), json={"outcome": "yes"}).status_code == 200
    # The same answer again (a retried request) is no conflict.
    assert api.post(ANSWER.format(prompt_id), json={"outcome": "yes"}).status_code == 200
    refused = api.post(ANSWER.format(prompt_id), json={"outcome": "no"})
    error = error_of(refused, 409)
    assert error["code"] == "prompt_already_answered" and "Yes" in error["message"]
    assert api.get(f"/api/v1/prompts/{prompt_id}").get_json()["outcome"]["outcome"] == "yes"
    changed = api.post(ANSWER.format(prompt_id), json={"outcome": "no", "replace": True})
    assert changed.status_code == 200
    assert api.get(f"/api/v1/prompts/{prompt_id}").get_json()["outcome"]["outcome"] == "no"
    # A dismissed prompt is put away: answering it is a change too.
    other = prompts["Other intro"]["id"]
    api.post(f"/api/v1/prompts/{other}/dismiss")
    assert error_of(api.post(ANSWER.format(other), json={"outcome": "yes"}), 409)["code"] == (
        "prompt_already_answered")


def test_replace_is_in_the_openapi_body(api) -> None:
    doc = api.get("/api/v1/openapi.json").get_json()
    schema = doc["paths"]["/api/v1/prompts/{prompt_id}/answer"]["post"]["requestBody"]
    ref = schema["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    replace = doc["components"]["schemas"][ref]["properties"]["replace"]
    assert replace["type"] == "boolean" and "409" in replace["description"]


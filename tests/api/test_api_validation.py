"""Bad requests: 400 for a body that is not a JSON object, 422 naming the field otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import error_of

LATER = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat()
STEP = {"summary": "Send offer", "start": LATER}


@pytest.mark.parametrize(("body", "field"), [
    ({"outcome": "maybe"}, "outcome"),
    ({}, "outcome"),
    ({"outcome": "next_step"}, "next_step"),
    ({"outcome": "yes", "next_step": STEP}, "next_step"),
    ({"outcome": "no", "no_reason": "too_blue"}, "no_reason"),
    ({"outcome": "yes", "note": 5}, "note"),
    ({"outcome": "yes", "mood": "great"}, "mood"),
    ({"outcome": "next_step", "next_step": {"start": LATER}}, "next_step.summary"),
    ({"outcome": "next_step", "next_step": {"summary": "x"}}, "next_step.start"),
    ({"outcome": "next_step", "next_step": {**STEP, "start": "next tuesday"}},
     "next_step.start"),
    ({"outcome": "next_step", "next_step": {**STEP, "start": 1700000000}}, "next_step.start"),
    ({"outcome": "next_step", "next_step": {**STEP, "channel": "pigeon"}}, "next_step.channel"),
    ({"outcome": "next_step", "next_step": {**STEP, "duration_minutes": 2}},
     "next_step.duration_minutes"),
    ({"outcome": "next_step", "next_step": {**STEP, "duration_minutes": "30"}},
     "next_step.duration_minutes"),
    ({"outcome": "next_step", "next_step": {**STEP, "summary": "   "}}, "next_step.summary"),
    ({"outcome": "next_step", "next_step": "tomorrow"}, "next_step"),
])
def test_bad_answers_name_the_field(api, prompts, body, field) -> None:
    prompt_id = prompts["Prospect demo"]["id"]
    error = error_of(api.post(f"/api/v1/prompts/{prompt_id}/answer", json=body), 422)
    assert error["code"] == "invalid"
    assert error["field"] == field
    assert error["message"].startswith(field + ":")
    # Nothing was recorded.
    assert api.get(f"/api/v1/prompts/{prompt_id}").get_json()["status"] == "pending"


@pytest.mark.parametrize("data", [b"", b"outcome=yes", b"{not json", b"[1, 2]", b'"yes"', b"null"])
def test_bodies_that_are_not_json_objects_are_400(api, prompts, data) -> None:
    prompt_id = prompts["Prospect demo"]["id"]
    response = api.client.post(f"/api/v1/prompts/{prompt_id}/answer", data=data,
                               headers={**api.headers, "Content-Type": "application/json"})
    assert error_of(response, 400)["code"] == "bad_request"


def test_other_bodies_are_checked_too(api, prompts) -> None:
    prompt_id = prompts["Prospect demo"]["id"]
    cases = [
        (f"/api/v1/prompts/{prompt_id}/snooze", {}, "until"),
        (f"/api/v1/prompts/{prompt_id}/snooze", {"until": "soon"}, "until"),
        (f"/api/v1/prompts/{prompt_id}/dismiss", {"skip_series": "yes"}, "skip_series"),
        (f"/api/v1/prompts/{prompt_id}/didnt_happen", {"reschedule": {"summary": "x"}},
         "reschedule.start"),
        (f"/api/v1/prompts/{prompt_id}/deal", {"deal_id": "1"}, "deal_id"),
        ("/api/v1/sources", {"kind": ["ics"]}, "kind"),
    ]
    for path, body, field in cases:
        assert error_of(api.post(path, json=body), 422)["field"] == field, (path, body)


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=-5", "limit"), ("limit=ten", "limit"),
    ("cursor=garbled", "cursor"), ("status=lost", "status"),
])
def test_bad_list_parameters_are_422(api, query, field) -> None:
    error = error_of(api.get(f"/api/v1/prompts?{query}"), 422)
    assert error["field"] == field and field in error["message"]


@pytest.mark.parametrize(("query", "field"), [
    ("from=yesterday", "from"), ("to=2025-13-01", "to"), ("source_id=abc", "source_id"),
])
def test_bad_meeting_filters_are_422(api, query, field) -> None:
    assert error_of(api.get(f"/api/v1/meetings?{query}"), 422)["field"] == field


def test_filters_by_status_check_their_values(api) -> None:
    assert error_of(api.get("/api/v1/deals?status=pending"), 422)["field"] == "status"
    assert error_of(api.get("/api/v1/followups?status=open"), 422)["field"] == "status"

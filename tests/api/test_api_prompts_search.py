"""GET /api/v1/prompts?q=, the inbox's search, and POST /api/v1/prompts/bulk, its "select
several", through the API (the same service functions as the inbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import Event, upload


def _titles(api, q: str, **params: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = api.get("/api/v1/prompts", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return [item["meeting"]["title"] for item in response.get_json()["items"]]


def test_q_finds_title_attendee_and_deal(api, prompts) -> None:
    assert _titles(api, "DEMO") == ["Prospect demo"]
    assert _titles(api, "cfo@other") == ["Other intro"]  # an attendee's email
    deal = prompts["Other intro"]["deal"]["id"]
    assert api.patch(f"/api/v1/deals/{deal}", json={"name": "Big Fish"}).status_code == 200
    assert _titles(api, "big fish") == ["Other intro"]  # the deal's name
    assert _titles(api, "prospect intro") == []  # every word must be found
    assert _titles(api, "email") == _titles(api, "response") == []  # not the JSON's keys
    assert _titles(api, "") == ["Prospect demo", "Other intro"]  # no search: all


def test_q_pages_with_its_cursor_and_takes_wildcards_literally(api) -> None:
    upload(api, *(Event(f"deal-{n}", f"Pilot review {n}", hours_ago=n + 1,
                        attendees=(f"buyer@firm{n}.example",)) for n in range(3)),
           Event("other", "100% renewal", hours_ago=5, attendees=("x@renew.example",)))
    first = api.get("/api/v1/prompts?q=pilot&limit=2").get_json()
    assert [p["meeting"]["title"] for p in first["items"]] == ["Pilot review 0",
                                                               "Pilot review 1"]
    rest = api.get("/api/v1/prompts", query_string={
        "q": "pilot", "limit": 2, "cursor": first["next_cursor"]}).get_json()
    assert [p["meeting"]["title"] for p in rest["items"]] == ["Pilot review 2"]
    assert rest["next_cursor"] is None
    assert _titles(api, "100%") == ["100% renewal"]
    assert _titles(api, "1_0") == []
    assert _titles(api, "pilot", status="answered") == []


def test_a_search_too_long_is_refused_naming_q(api) -> None:
    response = api.get("/api/v1/prompts", query_string={"q": "x" * 201})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "q"


def test_bulk_snoozes_or_dismisses_several_at_once(api, prompts, app) -> None:  # type: ignore[no-untyped-def]
    from calsync.db import get_db
    from calsync.models import Prompt

    ids = [prompts["Prospect demo"]["id"], prompts["Other intro"]["id"]]
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    response = api.post("/api/v1/prompts/bulk", json={
        "prompt_ids": ids, "action": "snooze", "until": until.isoformat()})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"changed": 2}
    with app.app_context(), get_db().session() as session:
        rows = [session.get(Prompt, prompt_id) for prompt_id in ids]
        assert [(row.status, row.snoozed_until) for row in rows] == [("snoozed", until)] * 2
    response = api.post("/api/v1/prompts/bulk", json={"prompt_ids": ids, "action": "dismiss"})
    assert response.get_json() == {"changed": 2}  # a snoozed prompt still waits for an answer
    assert api.post("/api/v1/prompts/bulk", json={
        "prompt_ids": ids, "action": "dismiss"}).get_json() == {"changed": 0}
    assert api.get(f"/api/v1/prompts/{ids[0]}").get_json()["status"] == "dismissed"


def test_bulk_refuses_what_it_cannot_do(api, prompts) -> None:  # type: ignore[no-untyped-def]
    one = [prompts["Prospect demo"]["id"]]
    cases = [({"prompt_ids": one, "action": "snooze"}, "until"),
             ({"prompt_ids": one, "action": "snooze", "until": "2020-01-01T09:00:00Z"}, "until"),
             ({"prompt_ids": [], "action": "dismiss"}, "prompt_ids"),
             ({"prompt_ids": one, "action": "forget"}, "action"),
             ({"prompt_ids": [2**40], "action": "dismiss"}, "prompt_ids.0")]
    for body, field in cases:
        response = api.post("/api/v1/prompts/bulk", json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["error"]["field"] == field, body
    assert api.get(f"/api/v1/prompts/{one[0]}").get_json()["status"] == "pending"

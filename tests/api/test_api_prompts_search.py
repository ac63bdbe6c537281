"""GET /api/v1/prompts?q=: the inbox's search through the API (the same service function)."""

from __future__ import annotations

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

"""Lists page with `limit` and an opaque `cursor`; a forged or foreign cursor is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from calsync.web.api import pagination
from tests.api.conftest import Event, error_of, upload
from tests.conftest import ApiClient


def _walk(api: ApiClient, path: str, limit: int) -> tuple[list[Any], int]:
    """Every item of a list, following next_cursor; and how many pages that took."""
    items: list[Any] = []
    url, pages = f"{path}?limit={limit}", 0
    while True:
        response = api.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages += 1
        assert len(body["items"]) <= limit
        items += body["items"]
        if body["next_cursor"] is None:
            return items, pages
        url = f"{path}?limit={limit}&cursor={body['next_cursor']}"


def test_three_pages_of_meetings_in_order(api) -> None:
    upload(api, *(Event(f"m{i}", f"Meeting {i}", hours_ago=10 - i) for i in range(5)))
    everything = api.get("/api/v1/meetings").get_json()
    assert everything["next_cursor"] is None and len(everything["items"]) == 5
    items, pages = _walk(api, "/api/v1/meetings", 2)
    assert pages == 3
    assert items == everything["items"]
    assert [m["title"] for m in items] == [f"Meeting {i}" for i in range(5)]


def test_three_pages_of_prompts_newest_first(api) -> None:
    upload(api, *(Event(f"p{i}", f"Call {i}", hours_ago=1 + i) for i in range(5)))
    items, pages = _walk(api, "/api/v1/prompts", 2)
    assert pages == 3
    assert [p["meeting"]["title"] for p in items] == [f"Call {i}" for i in range(5)]


def test_pages_of_sources_deals_and_followups(api) -> None:
    for i in range(3):
        upload(api, Event(f"s{i}", attendees=(f"buyer@p{i}.example",)), name=f"cal {i}")
    sources, pages = _walk(api, "/api/v1/sources", 1)
    assert pages == 3 and [s["name"] for s in sources] == ["cal 0", "cal 1", "cal 2"]
    deals, pages = _walk(api, "/api/v1/deals", 2)
    assert pages == 2 and len({d["id"] for d in deals}) == 3
    assert [d["id"] for d in deals] == sorted((d["id"] for d in deals), reverse=True)
    prompts = api.get("/api/v1/prompts").get_json()["items"]
    for day, prompt in enumerate(prompts, start=3):
        start = (datetime.now(UTC) + timedelta(days=day)).replace(hour=9, minute=0, second=0)
        step = {"summary": f"Step {day}", "start": start.isoformat()}
        api.post(f"/api/v1/prompts/{prompt['id']}/answer",
                 json={"outcome": "next_step", "next_step": step})
    followups, pages = _walk(api, "/api/v1/followups", 2)
    assert pages == 2 and [f["summary"] for f in followups] == ["Step 3", "Step 4", "Step 5"]


def test_an_exact_last_page_has_no_cursor(api) -> None:
    upload(api, Event("a"), name="one")
    upload(api, Event("b"), name="two")
    body = api.get("/api/v1/sources?limit=2").get_json()
    assert len(body["items"]) == 2 and body["next_cursor"] is None


def test_cursors_are_tamper_proof_and_belong_to_their_list(app, api) -> None:
    for i in range(3):
        upload(api, Event(f"c{i}"), name=f"cal {i}")
    cursor = api.get("/api/v1/sources?limit=1").get_json()["next_cursor"]
    assert cursor
    assert api.get(f"/api/v1/sources?limit=1&cursor={cursor}").status_code == 200
    for bad in (cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), "x" * 40, "e30"):
        error = error_of(api.get(f"/api/v1/sources?cursor={bad}"), 422)
        assert error["field"] == "cursor"
    assert error_of(api.get(f"/api/v1/deals?cursor={cursor}"), 422)["field"] == "cursor"
    with app.test_request_context():
        forged = pagination.encode("sources", ["not a number"])
        other_shape = pagination.encode("sources", [1, 2])
    for bad in (forged, other_shape):
        assert error_of(api.get(f"/api/v1/sources?cursor={bad}"), 422)["field"] == "cursor"

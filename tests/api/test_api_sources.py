"""Sources through the API: add by upload or URL, list, read, sync, delete."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.models import Deal, FollowUp, Meeting, Prompt, Source
from tests.api.conftest import Event, error_of, ics_text, pending, upload
from tests.servers.http_files import FileServer
from tests.web.test_sources_pages import REASONS, serve_not_a_calendar


def test_upload_syncs_inline_and_hides_the_file(api) -> None:
    source = upload(api, Event("a"), name="My calendar")
    assert source["kind"] == "ics" and source["name"] == "My calendar"
    assert source["status"] == "ok"
    assert source["url"] is None
    assert source["last_synced_at"].endswith("+00:00")
    assert source["next_sync_at"] is None  # an upload is never fetched again
    assert source["last_error"] is None and source["warnings"] == []
    assert "upload" not in source and "ics" not in source and "cursor" not in source
    assert api.get(f"/api/v1/sources/{source['id']}").get_json() == source


def test_add_by_url_reads_the_feed(api) -> None:
    with FileServer() as server:
        server.serve("/cal.ics", ics_text(Event("u1", "Feed demo")).encode())
        response = api.post("/api/v1/sources", json={"kind": "ics", "url": server.url("/cal.ics")})
    assert response.status_code == 201, response.get_json()
    source = response.get_json()
    assert source["status"] == "ok" and source["url"].endswith("/cal.ics")
    assert source["name"] == "127.0.0.1"
    assert "Feed demo" in pending(api)


@pytest.mark.parametrize("case", sorted(REASONS))
def test_an_address_that_is_not_a_calendar_is_refused_with_the_reason(api, case: str) -> None:
    with FileServer() as server:
        url = serve_not_a_calendar(server, case)
        response = api.post("/api/v1/sources", json={"kind": "ics", "url": url})
    error = error_of(response, 422)
    assert error["field"] == "url" and REASONS[case] in error["message"]
    assert api.get("/api/v1/sources").get_json()["items"] == []


def test_an_address_on_a_private_network_is_refused(app, settings: Settings, api) -> None:
    app.extensions["calsync.settings"] = replace(settings, allow_private_urls=False)
    error = error_of(api.post("/api/v1/sources", json={
        "url": "http://10.1.2.3/cal.ics"}), 422)
    assert error["field"] == "url"
    assert ("calsync does not fetch addresses on private or local networks (10.1.2.3)."
            in error["message"])


def test_a_slow_feed_is_kept_and_read_in_the_background(app, settings: Settings, api) -> None:
    # The read within the request gives up after a second; the queued sync (inline here,
    # a worker's in production) allows the whole fetch time and gets the calendar.
    app.extensions["calsync.settings"] = replace(settings, add_read_seconds=1)
    with FileServer() as server:
        url = server.serve("/slow.ics", ics_text(Event("s", "Slow demo")), delay=2.5)
        response = api.post("/api/v1/sources", json={"url": url, "name": "Slow"})
        assert len(server.requests) == 2  # the bounded read, then the background one
    assert response.status_code == 201, response.get_json()
    source = response.get_json()
    assert (source["name"], source["status"], source["last_error"]) == ("Slow", "ok", None)
    assert "Slow demo" in pending(api)


def test_an_upload_that_is_not_a_calendar_is_refused(api) -> None:
    error = error_of(api.post("/api/v1/sources", json={
        "ics": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"}), 422)
    assert error["field"] == "ics"
    assert "The calendar stops part-way (no END:VCALENDAR)" in error["message"]
    assert api.get("/api/v1/sources").get_json()["items"] == []


def test_list_and_sync(app, api) -> None:
    first = upload(api, Event("a"), name="one")
    second = upload(api, Event("b"), name="two")
    listed = api.get("/api/v1/sources").get_json()
    assert [s["id"] for s in listed["items"]] == [first["id"], second["id"]]
    assert listed["next_cursor"] is None
    # Backdated a day: only a sync that really runs can bring it to now.
    a_day_ago = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    with app.app_context(), get_db().session() as session:
        session.get(Source, first["id"]).last_synced_at = a_day_ago
        session.commit()
    assert api.get(f"/api/v1/sources/{first['id']}").get_json()["last_synced_at"] == (
        a_day_ago.isoformat())
    synced = api.post(f"/api/v1/sources/{first['id']}/sync")
    assert synced.status_code == 200
    assert synced.get_json()["status"] == "ok"
    synced_at = datetime.fromisoformat(synced.get_json()["last_synced_at"])
    assert synced_at > a_day_ago + timedelta(hours=23)
    assert synced_at >= datetime.fromisoformat(first["last_synced_at"])


def test_bad_sources_name_the_field(api) -> None:
    cases = [
        ({"kind": "carrier-pigeon", "url": "https://example.com/a.ics"}, "kind"),
        ({"kind": "ics"}, "url"),
        ({"kind": "ics", "url": "ftp://example.com/a.ics"}, "url"),
        ({"kind": "ics", "url": "https://example.com/a.ics", "ics": "BEGIN:VCALENDAR"}, "ics"),
        ({"kind": "ics", "ics": ""}, "ics"),
        ({"kind": "ics", "ics": 42}, "ics"),
        ({"kind": "ics", "url": "https://example.com/a.ics", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        error = error_of(api.post("/api/v1/sources", json=body), 422)
        assert error["field"] == field, (body, error)
        assert field in error["message"]


def test_delete_keeps_answers_deals_and_followups(app, api, prompts) -> None:
    source_id = prompts["Prospect demo"]["meeting"]["source_id"]
    answered = prompts["Prospect demo"]
    start = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    step = {"summary": "Send the offer", "start": start.isoformat()}
    result = api.post(f"/api/v1/prompts/{answered['id']}/answer",
                      json={"outcome": "next_step", "note": "liked it", "next_step": step})
    assert result.status_code == 200, result.get_json()

    assert api.delete(f"/api/v1/sources/{source_id}").status_code == 204
    assert error_of(api.get(f"/api/v1/sources/{source_id}"), 404)["code"] == "not_found"
    remaining = api.get("/api/v1/meetings").get_json()["items"]
    assert [(m["title"], m["source_id"]) for m in remaining] == [("Prospect demo", None)]
    kept = api.get(f"/api/v1/prompts/{answered['id']}").get_json()
    assert kept["meeting"]["title"] == "Prospect demo"
    assert kept["outcome"]["note"] == "liked it"
    # The unanswered prompt went with its meeting; the deals and follow-up stay.
    error_of(api.get(f"/api/v1/prompts/{prompts['Other intro']['id']}"), 404)
    deal = api.get(f"/api/v1/deals/{answered['deal']['id']}").get_json()
    assert deal["touches"] == 1 and deal["next_followup"]["summary"] == "Send the offer"
    with app.app_context(), get_db().session() as session:
        assert len(session.scalars(select(Meeting.id)).all()) == 1
        assert len(session.scalars(select(Deal)).all()) == 2
        assert session.scalar(select(FollowUp.status)) == "planned"
        assert session.scalar(select(Prompt.outcome)) == "next_step"


def test_delete_twice_is_404(api) -> None:
    source = upload(api, Event("a"))
    assert api.delete(f"/api/v1/sources/{source['id']}").status_code == 204
    error_of(api.delete(f"/api/v1/sources/{source['id']}"), 404)

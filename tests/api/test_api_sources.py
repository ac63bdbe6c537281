"""Sources through the API: add by upload or URL, list, read, sync, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from calsync.db import get_db
from calsync.models import Deal, FollowUp, Meeting, Prompt, Source
from tests.api.conftest import Event, error_of, ics_text, pending, upload
from tests.servers.http_files import FileServer


def test_upload_syncs_inline_and_hides_the_file(api) -> None:
    source = upload(api, Event("a"), name="My calendar")
    assert source["kind"] == "ics" and source["name"] == "My calendar"
    assert source["status"] == "ok"
    assert source["url"] is None
    assert source["last_synced_at"].endswith("+00:00")
    assert source["next_sync_at"].endswith("+00:00")
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


def test_an_unreachable_feed_is_saved_with_its_error(api) -> None:
    with FileServer() as server:
        server.serve("/gone.ics", b"not found", status=404)
        response = api.post("/api/v1/sources", json={"kind": "ics", "url": server.url("/gone.ics")})
    assert response.status_code == 201
    source = response.get_json()
    assert source["status"] == "error" and source["last_error"]


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

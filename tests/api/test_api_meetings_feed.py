"""Meetings with their filters, the feed's addresses and their rotation, and /me."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import Event, error_of, upload


def test_meetings_filter_by_start_and_source(api) -> None:
    first = upload(api, Event("old", "Old", hours_ago=50), Event("new", "New", hours_ago=2))
    second = upload(api, Event("elsewhere", "Elsewhere", hours_ago=3), name="second")
    titles = lambda url: [m["title"] for m in api.get(url).get_json()["items"]]  # noqa: E731
    assert titles("/api/v1/meetings") == ["Old", "Elsewhere", "New"]
    since = (datetime.now(UTC) - timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    assert titles(f"/api/v1/meetings?from={since}") == ["Elsewhere", "New"]
    assert titles(f"/api/v1/meetings?to={since}") == ["Old"]
    unencoded = since.replace("Z", "+00:00")  # the plus arrives as a space: still understood
    assert titles(f"/api/v1/meetings?to={unencoded}") == ["Old"]
    assert titles(f"/api/v1/meetings?source_id={second['id']}") == ["Elsewhere"]
    assert titles(f"/api/v1/meetings?source_id={first['id']}&from={since}") == ["New"]
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert titles(f"/api/v1/meetings?from={tomorrow}") == []
    assert error_of(api.get("/api/v1/meetings?source_id=9999"), 404)["code"] == "not_found"


def test_all_day_meetings_have_dates(api) -> None:
    upload(api, Event("holiday", "Company offsite", hours_ago=-48, all_day=True))
    [meeting] = api.get("/api/v1/meetings").get_json()["items"]
    assert meeting["all_day"] is True
    start = datetime.strptime(meeting["start"], "%Y-%m-%d").date()
    end = datetime.strptime(meeting["end"], "%Y-%m-%d").date()
    assert end - start == timedelta(days=1)


def test_feed_urls_and_rotation(api, settings) -> None:
    feed = api.get("/api/v1/feed").get_json()
    assert feed["url"].startswith(settings.base_url) and feed["url"].endswith(".ics")
    assert feed["webcal_url"] == "webcal://" + feed["url"].split("://", 1)[1]
    path = feed["url"].removeprefix(settings.base_url)
    assert api.client.get(path).status_code == 200
    rotated = api.post("/api/v1/feed/rotate")
    assert rotated.status_code == 200
    assert rotated.get_json()["url"] != feed["url"]
    assert api.get("/api/v1/feed").get_json() == rotated.get_json()
    assert api.client.get(path).status_code == 404


def test_me(api, user) -> None:
    assert api.get("/api/v1/me").get_json() == {
        "id": user.id, "email": "ana@acme-sales.com", "timezone": "Europe/Berlin"}

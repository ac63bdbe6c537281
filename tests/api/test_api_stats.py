"""GET /api/v1/stats: the dashboard's figures from a known history, and only the caller's."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from calsync.domain.stats import WEEKS
from calsync.models import User
from tests.conftest import ApiClient, api_client_for
from tests.dashboard_history import seed_history, weeks_for

HOUR = 3600


def test_stats_from_a_known_history(app: Flask, api: ApiClient, user: User) -> None:
    weeks = seed_history(app, user)
    response = api.get("/api/v1/stats")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["closed_by_touch"] == [
        {"touches": 1, "label": "1", "won": 1, "lost": 0, "win_rate": 1.0},
        {"touches": 2, "label": "2", "won": 0, "lost": 0, "win_rate": None},
        {"touches": 3, "label": "3", "won": 1, "lost": 1, "win_rate": 0.5},
    ]
    assert (body["median_touches_won"], body["median_touches_lost"]) == (2, 3)
    assert [(row["label"], row["deals"]) for row in body["open_by_touch"]] == [
        ("0", 1), ("1", 0), ("2", 0), ("3", 0), ("4", 0), ("5", 1)]
    assert len(body["weeks"]) == WEEKS
    week = {row["start"]: row for row in body["weeks"]}
    last, before = week[weeks.last.isoformat()], week[weeks.before.isoformat()]
    assert (last["on_time"], last["late"], last["missed"]) == (1, 1, 1)
    assert (before["on_time"], before["late"], before["missed"]) == (1, 0, 0)
    assert last["median_answer_seconds"] == 2.5 * HOUR
    assert before["median_answer_seconds"] == HOUR
    assert body["weeks"][-1]["start"] == (weeks.last + timedelta(weeks=1)).isoformat()
    assert body["median_answer_seconds"] == 2 * HOUR


def test_stats_count_only_the_callers_history(app: Flask, client: FlaskClient, user: User,
                                              make_user) -> None:  # type: ignore[no-untyped-def]
    seed_history(app, user)
    other = make_user("bo@initech.example")
    body = api_client_for(app, client, other).get("/api/v1/stats").get_json()
    assert body["closed_by_touch"] == [] and body["open_by_touch"] == []
    assert body["median_answer_seconds"] is None
    assert all((w["on_time"], w["late"], w["missed"]) == (0, 0, 0) for w in body["weeks"])
    assert weeks_for(other).last.isoformat() in {w["start"] for w in body["weeks"]}


def test_stats_need_a_token(client: FlaskClient) -> None:
    assert client.get("/api/v1/stats").status_code == 401


def test_stats_are_in_the_openapi_document(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/stats"]["get"]
    assert operation["operationId"] == "get_stats"
    assert "StatsOut" in document["components"]["schemas"]

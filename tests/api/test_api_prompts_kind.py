"""A follow-up's prompt in the API says what the follow-up is for (`kind`) and, for a
promise, its deadline (`promise_due`); a meeting's prompt says null to both (additive)."""

from __future__ import annotations

from datetime import UTC

from flask import Flask

from calsync.models import User
from tests.conftest import ApiClient
from tests.web.conftest import Seed, seed_meetings
from tests.web.promise_due import due_promise


def test_a_promises_prompt_shows_its_kind_and_deadline(app: Flask, user: User,
                                                      api: ApiClient) -> None:
    promise = due_promise(app, user)
    meeting = seed_meetings(app, user, Seed("Northwind call", hours_ago=2))["Northwind call"]
    shown = api.get(f"/api/v1/prompts/{promise.prompt}").get_json()
    assert shown["kind"] == "promise"
    assert shown["promise_due"] == promise.due.astimezone(UTC).isoformat()
    listed = {p["id"]: p for p in api.get("/api/v1/prompts").get_json()["items"]}
    assert listed[promise.prompt] == shown
    assert (listed[meeting]["kind"], listed[meeting]["promise_due"]) == (None, None)

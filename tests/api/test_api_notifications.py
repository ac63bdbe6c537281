"""GET and PATCH /api/v1/me/notifications: a user's prompt emails, quiet hours and digest."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from flask import Flask

from calsync.domain.vocabulary import EmailPrompts
from calsync.models import User
from calsync.services import prompt_mail
from tests.api.conftest import error_of
from tests.conftest import ApiClient
from tests.web.conftest import load

PATH = "/api/v1/me/notifications"
DEFAULTS = {"email_prompts": "each", "summary_hour": 17, "quiet_start": "20:00",
            "quiet_end": "07:00", "digest": True, "digest_hour": 8}


def test_the_defaults(api: ApiClient) -> None:
    response = api.get(PATH)
    assert response.status_code == 200
    assert response.get_json() == DEFAULTS


def test_a_patch_changes_only_the_fields_it_gives(app: Flask, user: User, api: ApiClient) -> None:
    response = api.patch(PATH, json={"email_prompts": "summary", "summary_hour": 16,
                                     "quiet_start": "22:30"})
    assert response.status_code == 200, response.get_json()
    changed = {**DEFAULTS, "email_prompts": "summary", "summary_hour": 16,
               "quiet_start": "22:30"}
    assert response.get_json() == changed
    assert api.get(PATH).get_json() == changed
    saved = load(app, User, user.id)
    assert saved.email_prompts is EmailPrompts.SUMMARY
    assert (saved.quiet_start, saved.quiet_end) == (time(22, 30), time(7))
    # Null keeps a value, as leaving the field out does.
    response = api.patch(PATH, json={"digest": False, "digest_hour": 0, "quiet_end": None})
    assert response.get_json() == {**changed, "digest": False, "digest_hour": 0}


@pytest.mark.parametrize(("body", "field"), [
    ({"email_prompts": "hourly"}, "email_prompts"),
    ({"summary_hour": 24}, "summary_hour"),
    ({"summary_hour": -1}, "summary_hour"),
    ({"digest_hour": "8"}, "digest_hour"),
    ({"digest_hour": 7.5}, "digest_hour"),
    ({"digest": "yes"}, "digest"),
    ({"quiet_start": "8pm"}, "quiet_start"),
    ({"quiet_start": "24:00"}, "quiet_start"),
    ({"quiet_end": "07:00:00"}, "quiet_end"),
    ({"quiet_end": 700}, "quiet_end"),
    ({"mute": True}, "mute"),
])
def test_bad_choices_name_the_field_and_change_nothing(app: Flask, user: User, api: ApiClient,
                                                        body: dict[str, Any], field: str) -> None:
    error = error_of(api.patch(PATH, json={"digest": False, **body}), 422)
    assert (error["code"], error["field"]) == ("invalid", field)
    assert api.get(PATH).get_json() == DEFAULTS
    assert load(app, User, user.id).digest is True


def test_each_user_has_their_own_choices(api: ApiClient, other_api: ApiClient) -> None:
    assert api.patch(PATH, json={"email_prompts": "off"}).status_code == 200
    assert other_api.get(PATH).get_json() == DEFAULTS
    assert api.get(PATH).get_json()["email_prompts"] == "off"


def test_documented_as_the_body_and_answer_they_are(api: ApiClient, client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    operations = doc["paths"][PATH]
    assert set(operations) == {"get", "patch"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["NotificationsOut"]["properties"]) == set(DEFAULTS)
    body = schemas["NotificationsIn"]
    assert set(body["properties"]) == set(DEFAULTS) and body["additionalProperties"] is False
    assert "required" not in body
    assert set(operations["patch"]["responses"]) == {"200", "400", "401", "422"}


def test_without_a_token_nothing_is_read_or_changed(client: Any) -> None:
    assert error_of(client.get(PATH), 401)["code"] == "unauthorized"
    assert error_of(client.patch(PATH, json={"email_prompts": "off"}), 401)


def test_equal_quiet_times_mean_no_quiet_hours(app: Flask, user: User, api: ApiClient) -> None:
    answer = api.patch(PATH, json={"quiet_start": "07:00", "quiet_end": "07:00"})
    assert answer.status_code == 200
    saved = load(app, User, user.id)
    assert (saved.quiet_start, saved.quiet_end) == (time(7), time(7))
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # in the default 20:00-07:00 window
    assert prompt_mail.after_quiet_hours(saved, late) == late

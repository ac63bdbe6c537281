"""The JSON API fuzzed against its own OpenAPI document (schemathesis): no request, however
odd, gets a 500, and every answer matches the status codes and schemas the document states.

Each operation runs on a fresh app seeded with a source, meetings, prompts and a follow-up;
ids in paths are mostly drawn from the seeded rows, so the fuzzing reaches real data.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from calsync.models import User
from calsync.web.api.openapi import document
from tests.api.conftest import Event, pending, upload
from tests.api.test_api_isolation import LATER
from tests.conftest import ApiClient, api_client_for

schema = schemathesis.openapi.from_dict(document())
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Fresh databases number rows from 1: the seed below makes ids 1-3 real (one source).
SEEDED_IDS = st.integers(min_value=1, max_value=3)
EXAMPLES = 15  # per operation and mode: the whole file takes about 40 s of CPU


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Mostly a seeded id, sometimes whatever schemathesis drew (unknown ids must be 404)."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries({
        name: st.one_of(SEEDED_IDS, st.just(value)) if isinstance(value, int) else st.just(value)
        for name, value in path_parameters.items()})


@pytest.fixture
def seeded_api(app: Flask, client: FlaskClient, user: User) -> ApiClient:
    """Ana's token, with a calendar, prompts answered and pending, and a follow-up."""
    api = api_client_for(app, client, user)
    upload(api, Event("demo-1", "Prospect demo", hours_ago=1),
           Event("intro-1", "Other intro", hours_ago=3, attendees=("cfo@other.example",)),
           Event("weekly", "Weekly", hours_ago=26, rrule="FREQ=DAILY;COUNT=3"),
           Event("later-1", "Later", hours_ago=-24))
    prompts = pending(api)
    answered = api.post(f"/api/v1/prompts/{prompts['Other intro']['id']}/answer",
                        json={"outcome": "next_step",
                              "next_step": {"summary": "Send pricing", "start": LATER}})
    assert answered.status_code == 200, answered.get_json()
    return api


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_answers_as_documented(case: Any, app: Flask, seeded_api: ApiClient) -> None:
    case.call_and_validate(app=app, headers=seeded_api.headers, checks=CHECKS)


# --- what the fuzzing found, pinned --------------------------------------------------------

def call(app: Flask, api: ApiClient, label: str, **parts: Any) -> Any:
    """One hand-made case of operation `label` ("GET /api/v1/..."), sent and checked."""
    method, path = label.split(" ", 1)
    case = schema[path][method].Case(**parts)
    return case.call_and_validate(app=app, headers=api.headers, checks=CHECKS)


def test_filtering_meetings_by_an_unknown_source_is_a_documented_404(
        app: Flask, seeded_api: ApiClient) -> None:
    response = call(app, seeded_api, "GET /api/v1/meetings", query={"source_id": 999})
    assert response.status_code == 404


@pytest.mark.parametrize("label", [
    "GET /api/v1/prompts/{prompt_id}", "POST /api/v1/sources/{source_id}/sync",
    "DELETE /api/v1/sources/{source_id}"])
def test_an_id_too_large_for_the_database_is_a_documented_404(
        app: Flask, seeded_api: ApiClient, label: str) -> None:
    name = label.split("{")[1].split("}")[0]
    for too_large in (2**31, 2**63, 5485200552941770264343870623973376):
        response = call(app, seeded_api, label, path_parameters={name: too_large})
        assert response.status_code == 404
    assert seeded_api.get("/api/v1/sources/1").status_code == 200  # the seeded rows remain

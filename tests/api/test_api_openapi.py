"""The OpenAPI document: complete, self-consistent, and the very schemas requests meet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from calsync.web.api.registry import OPERATIONS
from calsync.web.api.schemas import DealDetailOut, PromptActionOut, PromptOut, SourceOut
from tests.api.conftest import error_of, upload

LATER = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat()
CONTRACT = {
    "/api/v1/sources": {"get", "post"},
    "/api/v1/sources/{source_id}": {"get", "delete", "patch"},
    "/api/v1/sources/{source_id}/sync": {"post"},
    "/api/v1/meetings": {"get"},
    "/api/v1/prompts": {"get"},
    "/api/v1/prompts/bulk": {"post"},
    "/api/v1/prompts/{prompt_id}": {"get"},
    "/api/v1/prompts/{prompt_id}/answer": {"post"},
    "/api/v1/prompts/{prompt_id}/snooze": {"post"},
    "/api/v1/prompts/{prompt_id}/dismiss": {"post"},
    "/api/v1/prompts/{prompt_id}/didnt_happen": {"post"},
    "/api/v1/prompts/{prompt_id}/deal": {"post"},
    "/api/v1/prompts/{prompt_id}/uncover": {"post"},
    "/api/v1/deals": {"get"},
    "/api/v1/deals/{deal_id}": {"get", "patch"},
    "/api/v1/followups": {"get"},
    "/api/v1/followups/{followup_id}": {"get"},
    "/api/v1/followups/{followup_id}/reason": {"post"},
    "/api/v1/followups/{followup_id}/reschedule": {"post"},
    "/api/v1/followups/{followup_id}/delivered": {"post"},
    "/api/v1/prompts/{prompt_id}/not_yet": {"post"},
    "/api/v1/followups/{followup_id}/unbook": {"post"},
    "/api/v1/coach": {"get"},
    "/api/v1/stats": {"get"},
    "/api/v1/feed": {"get"},
    "/api/v1/feed/rotate": {"post"},
    "/api/v1/me": {"get"},
    "/api/v1/me/notifications": {"get", "patch"},
    "/api/v1/webhooks": {"get", "post"},
    "/api/v1/webhooks/{webhook_id}": {"delete"},
    "/api/v1/webhooks/{webhook_id}/deliveries": {"get"},
    "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {"post"},
    "/api/v1/openapi.json": {"get"},
}


@pytest.fixture
def doc(client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a $ref, and step into the non-null branch of an optional."""
    if "$ref" in schema:
        prefix = "#/components/schemas/"
        assert schema["$ref"].startswith(prefix)
        return resolve(doc, doc["components"]["schemas"][schema["$ref"].removeprefix(prefix)])
    if "anyOf" in schema:
        [branch] = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return resolve(doc, branch)
    return schema


def body_schema(doc: dict[str, Any], path: str) -> dict[str, Any]:
    content = doc["paths"][path]["post"]["requestBody"]["content"]
    return resolve(doc, content["application/json"]["schema"])


def refs_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["$ref"]] if "$ref" in value else []
        return own + [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs_in(v)]
    return []


def test_a_3x_document_with_every_path_and_method(doc) -> None:
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert {path: set(item) for path, item in doc["paths"].items()} == CONTRACT
    for op in OPERATIONS:
        assert op.method.lower() in doc["paths"]["/api/v1" + op.rule.replace("<int:", "<")
                                                 .replace("<", "{").replace(">", "}")]
    ids = [spec["operationId"] for item in doc["paths"].values() for spec in item.values()]
    assert len(ids) == len(set(ids))


def test_bearer_security_everywhere_but_the_document(doc) -> None:
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "A personal API token (cs_...)."}
    assert doc["security"] == [{"bearer": []}]
    assert doc["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
    secured = [spec for path, item in doc["paths"].items() for spec in item.values()
               if path != "/api/v1/openapi.json"]
    assert all("security" not in spec and "401" in spec["responses"] for spec in secured)


def test_every_reference_resolves(doc) -> None:
    for ref in refs_in(doc):
        section, _, name = ref.removeprefix("#/components/").partition("/")
        assert name in doc["components"][section], ref


def test_parameters_and_responses_are_described(doc) -> None:
    get_source = doc["paths"]["/api/v1/sources/{source_id}"]["get"]
    assert get_source["parameters"] == [
        {"name": "source_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    assert set(get_source["responses"]) == {"200", "401", "404"}
    meetings = doc["paths"]["/api/v1/meetings"]["get"]
    names = {p["name"]: p for p in meetings["parameters"]}
    assert set(names) == {"limit", "cursor", "from", "to", "source_id"}
    assert names["limit"]["schema"]["maximum"] == 1000 and names["limit"]["schema"]["minimum"] == 1
    assert doc["paths"]["/api/v1/sources"]["post"]["responses"]["201"]
    assert set(doc["paths"]["/api/v1/sources/{source_id}"]["delete"]["responses"]) == {
        "204", "401", "404"}
    assert "source_id` becomes null" in doc["paths"]["/api/v1/sources/{source_id}"]["delete"][
        "description"]


def test_the_answer_schema_is_the_one_that_validates(api, prompts, doc) -> None:
    prompt_id = prompts["Prospect demo"]["id"]
    answer = body_schema(doc, "/api/v1/prompts/{prompt_id}/answer")
    step = resolve(doc, answer["properties"]["next_step"])
    assert answer["required"] == ["outcome"] and answer["additionalProperties"] is False
    assert set(step["required"]) == {"summary", "start"}
    path = f"/api/v1/prompts/{prompt_id}/answer"
    valid_step = {"summary": "Offer", "start": LATER}

    def refused(body: dict[str, Any], field: str) -> None:
        assert error_of(api.post(path, json=body), 422)["field"] == field

    outcomes = answer["properties"]["outcome"]["enum"]
    assert set(outcomes) == {"yes", "no", "next_step"}
    refused({"outcome": "perhaps"}, "outcome")
    for name in step["required"]:
        partial = {k: v for k, v in valid_step.items() if k != name}
        refused({"outcome": "next_step", "next_step": partial}, f"next_step.{name}")
    duration = resolve(doc, step["properties"]["duration_minutes"])
    assert duration["type"] == "integer"
    refused({"outcome": "next_step",
             "next_step": {**valid_step, "duration_minutes": duration["minimum"] - 1}},
            "next_step.duration_minutes")
    refused({"outcome": "next_step",
             "next_step": {**valid_step, "duration_minutes": duration["maximum"] + 1}},
            "next_step.duration_minutes")
    channels = resolve(doc, step["properties"]["channel"])["enum"]
    refused({"outcome": "next_step", "next_step": {**valid_step, "channel": "fax"}},
            "next_step.channel")
    refused({"outcome": "yes", "unlisted": 1}, "unlisted")
    # What the schema allows is accepted.
    accepted = api.post(path, json={"outcome": "next_step", "next_step": {
        **valid_step, "channel": channels[-1], "duration_minutes": duration["maximum"]}})
    assert accepted.status_code == 200, accepted.get_json()


def test_answers_have_exactly_the_documented_fields(api, prompts, doc) -> None:
    schemas = doc["components"]["schemas"]
    prompt = prompts["Prospect demo"]
    assert set(prompt) == set(schemas["PromptOut"]["properties"])
    PromptOut.model_validate(prompt)
    source = upload(api)
    assert set(source) == set(schemas["SourceOut"]["properties"])
    SourceOut.model_validate(source)
    answered = api.post(f"/api/v1/prompts/{prompt['id']}/answer", json={
        "outcome": "next_step", "next_step": {"summary": "Offer", "start": LATER}}).get_json()
    PromptActionOut.model_validate(answered)
    deal = api.get(f"/api/v1/deals/{prompt['deal']['id']}").get_json()
    DealDetailOut.model_validate(deal)
    assert set(deal) == set(schemas["DealDetailOut"]["properties"])

"""The OpenAPI 3.1 document of /api/v1, generated from the routes' declared models: the
schemas that validate requests and build responses are the ones published here.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from flask import Response, jsonify
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from calsync.web.api.registry import OPERATIONS, Operation
from calsync.web.api.schemas import ErrorOut

PREFIX = "/api/v1"
DOC_PATH = "/openapi.json"
REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")

DESCRIPTION = """\
calsync's JSON API: everything the pages do, for scripts and plugins.

Authenticate every call (except this document) with `Authorization: Bearer <token>`;
create a token in Settings or with `calsync tokens create EMAIL`.

Times are answered in UTC as ISO 8601 with an explicit offset (`+00:00`); all-day
meetings have dates (`YYYY-MM-DD`). Times you send should carry an offset; one without
is read in your time zone (`GET /api/v1/me`).

Lists answer `{"items": [...], "next_cursor": ...}`. Pass `next_cursor` back as `cursor`
for the next page; it is opaque and null on the last page. `limit` is 1-1000 (default 100).

Errors answer `{"error": {"code", "message", "field"?}}`: 400 for a body that is not a
JSON object, 401 without a valid token, 404 for anything that is not yours, 409 for an
action the prompt's state does not allow, 422 naming the field or parameter that is wrong.
"""

_ERRORS = {
    "400": "The body is not a JSON object.",
    "401": "No valid bearer token (missing, unknown or revoked).",
    "404": "No such thing, or it is not yours.",
    "409": "The action does not fit the prompt's state.",
    "422": "A field or parameter has a value calsync cannot accept; `field` names it.",
}


@cache
def document() -> dict[str, Any]:
    """The whole document; built once per process, since routes are fixed at import."""
    error = {"$ref": REF.format(model=ErrorOut.__name__)}
    inputs: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ErrorOut, "serialization"): None}
    for op in OPERATIONS:
        models: tuple[tuple[type[BaseModel] | None, JsonSchemaMode], ...] = (
            (op.body, "validation"), (op.query, "validation"), (op.response, "serialization"))
        for model, mode in models:
            if model is not None:
                inputs[(model, mode)] = None
    refs, defs = models_json_schema(list(inputs), ref_template=REF)
    schemas = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {
        PREFIX + DOC_PATH: {"get": {
            "operationId": "openapi", "summary": "This document.", "tags": ["meta"],
            "security": [],
            "responses": {"200": {"description": "The OpenAPI document.", "content": {
                "application/json": {"schema": {"type": "object"}}}}},
        }},
    }
    for op in OPERATIONS:
        paths.setdefault(PREFIX + _PATH_PARAM.sub(r"{\2}", op.rule), {})[op.method.lower()] = (
            _operation(op, refs, schemas))
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "calsync API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "A personal API token (cs_...)."}},
            "responses": {
                code: {"description": text, "content": {"application/json": {"schema": error}}}
                for code, text in _ERRORS.items()},
        },
    }


def _operation(op: Operation, refs: dict[Any, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.rule.strip("/").split("/")[0]],
        "parameters": _path_parameters(op.rule),
    }
    if op.description:
        spec["description"] = op.description
    if not op.auth:
        spec["security"] = []
    errors = ["401", *op.errors] if op.auth else [*op.errors]
    if op.query is not None:
        spec["parameters"] += _query_parameters(refs[(op.query, "validation")], schemas)
        errors.append("422")
    if op.body is not None:
        spec["requestBody"] = {"required": op.body_required, "content": {
            "application/json": {"schema": refs[(op.body, "validation")]}}}
        errors += ["400", "422"]
    if "<" in op.rule:
        errors.append("404")
    if "/prompts/<" in op.rule and op.method == "POST" and not op.rule.endswith("/deal"):
        errors.append("409")
    if op.response is None:
        success: dict[str, Any] = {"description": "Done; no content."}
    else:
        success = {"description": "OK", "content": {
            "application/json": {"schema": refs[(op.response, "serialization")]}}}
    spec["responses"] = {str(op.status): success} | {
        code: {"$ref": f"#/components/responses/{code}"} for code in sorted(set(errors))}
    return spec


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "integer"} if converter == "int" else {"type": "string"}}
        for converter, name in _PATH_PARAM.findall(rule)
    ]


def _query_parameters(ref: dict[str, str], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    model = schemas[ref["$ref"].rpartition("/")[2]]
    required = set(model.get("required", ()))
    parameters = []
    for name, schema in model.get("properties", {}).items():
        parameter = {"name": name, "in": "query", "required": name in required, "schema": schema}
        if "description" in schema:
            parameter["description"] = schema["description"]
        parameters.append(parameter)
    return parameters


def openapi_json() -> Response:
    return jsonify(document())

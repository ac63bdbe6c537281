"""The API's routes as data: each declares its body, query and response models once, and
those models both validate the request and describe the route in the OpenAPI document.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from werkzeug.exceptions import BadRequest

from calsync.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from calsync.models import User


@dataclass(frozen=True)
class Operation:
    rule: str  # Flask rule under the blueprint's prefix, e.g. "/sources/<int:source_id>"
    method: str
    name: str  # the endpoint; also the OpenAPI operationId
    view: Callable[..., Any]
    summary: str
    description: str
    response: type[BaseModel] | None  # None: 204 with no body
    status: int
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    body_required: bool
    auth: bool
    # Error statuses the view answers beyond those its shape implies (see openapi._operation).
    errors: tuple[str, ...] = ()


OPERATIONS: list[Operation] = []
MAX_ROW_ID = 2**31 - 1  # ids are INTEGER columns: PostgreSQL's hold 32 bits
M = TypeVar("M", bound=BaseModel)


def route(rule: str, method: str, *, response: type[BaseModel] | None, status: int = 200,
          body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
          body_required: bool = True, auth: bool = True,
          errors: tuple[str, ...] = ()) -> Callable[..., Any]:
    """Declare an API route. The view gets `body=` and `query=` as validated models and
    returns a `response` model (or None for 204); its docstring becomes the description."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def handle(**path: Any) -> Response:
            _require_row_ids(path)
            kwargs = dict(path)
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body, required=body_required)
            result = view(**kwargs)
            if response is None:
                return Response(status=204)
            answer = jsonify(result.model_dump(mode="json"))
            answer.status_code = status
            return answer

        doc = (view.__doc__ or "").strip()
        summary, _, description = doc.partition("\n")
        OPERATIONS.append(Operation(
            rule=rule, method=method, name=view.__name__, view=handle, summary=summary.strip(),
            description=" ".join(description.split()), response=response,
            status=204 if response is None else status,
            body=body, query=query, body_required=body_required, auth=auth, errors=errors))
        return handle

    return decorate


def _require_row_ids(path: dict[str, Any]) -> None:
    """An id beyond what an id column holds names nothing: 404, as any unknown id, rather
    than the database's out-of-range error."""
    if any(isinstance(value, int) and not 0 < value <= MAX_ROW_ID for value in path.values()):
        raise NotFound("No such thing, or it is not yours.")


def register(bp: Blueprint) -> None:
    for op in OPERATIONS:
        bp.add_url_rule(op.rule, endpoint=op.name, view_func=op.view, methods=[op.method])


def operation_for(endpoint: str | None) -> Operation | None:
    name = (endpoint or "").rpartition(".")[2]
    return next((op for op in OPERATIONS if op.name == name), None)


def api_user() -> User:
    """The user whose bearer token authenticated this request."""
    user: User = g.api_user
    return user


def user_time(moment: datetime) -> datetime:
    """`moment` as given, or read in the user's time zone when it has no offset."""
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(api_user().timezone))


def parse_body(model: type[M], *, required: bool = True) -> M:
    """The JSON body as `model`: 400 when it is not a JSON object, 422 naming a bad field."""
    raw = request.get_data(cache=True)
    if not raw.strip() and not required:
        raw = b"{}"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequest("The body is not JSON; send a JSON object with "
                         "Content-Type: application/json.") from exc
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    try:
        return model.model_validate_json(raw)
    except PydanticError as exc:
        raise _first_problem(exc) from exc


def parse_query(model: type[M]) -> M:
    try:
        return model.model_validate(request.args.to_dict())
    except PydanticError as exc:
        raise _first_problem(exc) from exc


def _first_problem(error: PydanticError) -> ValidationFailed:
    problem = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in problem["loc"]) or "body"
    message = ("this field is required." if problem["type"] == "missing"
               else "this field is not accepted here." if problem["type"] == "extra_forbidden"
               else problem["msg"][:1].lower() + problem["msg"][1:] + ".")
    return ValidationFailed(field, message)

"""The JSON API under /api/v1: every call authenticated by a bearer token, every answer JSON.

The routes live in `routes_*.py`, declared with their pydantic models (`registry.route`);
the OpenAPI document at /api/v1/openapi.json is generated from those same models.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from calsync.db import get_session
from calsync.services import accounts
from calsync.web.api import (
    routes_account,
    routes_calendar,
    routes_coach,
    routes_deals,
    routes_prompts,
    routes_stats,
    routes_webhooks,
)
from calsync.web.api.openapi import DOC_PATH, openapi_json
from calsync.web.api.registry import operation_for, register
from calsync.web.errors import error_response

__all__ = ["bp", "routes_account", "routes_calendar", "routes_coach", "routes_deals",
           "routes_prompts", "routes_stats", "routes_webhooks"]

bp = Blueprint("api", __name__, url_prefix="/api/v1")
register(bp)
bp.add_url_rule(DOC_PATH, endpoint="openapi", view_func=openapi_json, methods=["GET"])


@bp.before_request
def authenticate() -> Response | None:
    """Find the user of the bearer token, or answer 401 before any route runs."""
    op = operation_for(request.endpoint)
    if request.endpoint == "api.openapi" or (op is not None and not op.auth):
        return None  # the OpenAPI document is public; everything else needs a token
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _unauthorized("Send a personal API token as 'Authorization: Bearer <token>'.")
    user = accounts.user_for_api_token(get_session(), token)
    if user is None:
        return _unauthorized("This API token is unknown or was revoked; create a new one "
                             "in Settings.")
    g.api_user = user
    return None


def _unauthorized(message: str) -> Response:
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="calsync"'
    return response

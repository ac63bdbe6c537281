"""The emulator's WSGI application: routing, the request log, injected faults and delays.

Paths are Google's: the Calendar API under `/calendar/v3/`, and the OAuth endpoints
`/o/oauth2/auth`, `/token`, `/revoke` and `/oauth2/v1/certs`, all on one loopback port.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from calsync.emulator import consent, errors, oauth
from calsync.emulator.calendar_api import CalendarApi
from calsync.emulator.state import State

API = "/calendar/v3"
JSON = "application/json; charset=UTF-8"


def json_response(body: Any, status: int = 200) -> Response:
    response = Response(json.dumps(body, indent=1) + "\n", status=status, content_type=JSON)
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    return response


class Application:
    """A WSGI callable; `log` holds every request it answered."""

    def __init__(self, state: State, api: CalendarApi, auth: oauth.OAuth) -> None:
        self.state = state
        handlers: dict[str, Callable[..., Any]] = {
            "calendar_list": api.calendar_list, "list_events": api.list_events,
            "insert": api.insert, "watch": api.watch, "get": api.get, "patch": api.patch,
            "put": api.put, "delete": api.delete, "stop_channel": api.stop_channel,
            "authorize": auth.authorize, "token": auth.token, "revoke": auth.revoke,
            "certs": lambda request: oauth.certs(), "index": self.index,
            "asset": lambda request: consent.asset(request.path),
        }
        self.handlers = handlers
        self.url_map = Map([
            Rule(f"{API}/users/me/calendarList", endpoint="calendar_list", methods=["GET"]),
            Rule(f"{API}/calendars/<calendar_id>/events", endpoint="list_events",
                 methods=["GET"]),
            Rule(f"{API}/calendars/<calendar_id>/events", endpoint="insert", methods=["POST"]),
            Rule(f"{API}/calendars/<calendar_id>/events/watch", endpoint="watch",
                 methods=["POST"]),
            Rule(f"{API}/calendars/<calendar_id>/events/<event_id>", endpoint="get",
                 methods=["GET"]),
            Rule(f"{API}/calendars/<calendar_id>/events/<event_id>", endpoint="patch",
                 methods=["PATCH"]),
            Rule(f"{API}/calendars/<calendar_id>/events/<event_id>", endpoint="put",
                 methods=["PUT"]),
            Rule(f"{API}/calendars/<calendar_id>/events/<event_id>", endpoint="delete",
                 methods=["DELETE"]),
            Rule(f"{API}/channels/stop", endpoint="stop_channel", methods=["POST"]),
            Rule("/o/oauth2/auth", endpoint="authorize", methods=["GET", "POST"]),
            Rule("/token", endpoint="token", methods=["POST"]),
            Rule("/revoke", endpoint="revoke", methods=["GET", "POST"]),
            Rule("/oauth2/v1/certs", endpoint="certs", methods=["GET"]),
            Rule("/", endpoint="index", methods=["GET"]),
            Rule(consent.STYLE_PATH, endpoint="asset", methods=["GET"]),
            Rule(consent.SCRIPT_PATH, endpoint="asset", methods=["GET"]),
        ], strict_slashes=False)

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        fault = self.state.admit(request)
        is_api = request.path.startswith(API + "/")
        if fault is not None:
            if is_api:
                error = errors.fault(fault.status, fault.reason)
                return json_response(error.body(), error.status)
            failure = errors.OAuthError(fault.status, fault.reason, fault.reason)
            return json_response(failure.body(), failure.status)
        try:
            endpoint, values = self.url_map.bind_to_environ(request.environ).match()
            result = self.handlers[endpoint](request, **values)
        except errors.ApiError as error:
            return json_response(error.body(), error.status)
        except errors.OAuthError as error:
            response = json_response(error.body(), error.status)
            if error.status == 401:
                response.headers["WWW-Authenticate"] = 'Basic realm="oauth2"'
            return response
        except (NotFound, MethodNotAllowed) as error:
            if is_api:
                return json_response(errors.not_found().body(), 404)
            return error.get_response(request.environ)
        except HTTPException as error:
            return error.get_response(request.environ)
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status=204)
        response = json_response(result)
        if endpoint == "token":
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response

    def index(self, request: Request) -> Response:
        base = request.host_url.rstrip("/")
        lines = [f"api_endpoint: {base}{API}/", f"auth_uri:     {base}/o/oauth2/auth",
                 f"token_uri:    {base}/token", f"revoke_uri:   {base}/revoke",
                 f"certs_uri:    {base}/oauth2/v1/certs"]
        return Response("Google Calendar v3 + OAuth emulator\n\n" + "\n".join(lines) + "\n",
                        content_type="text/plain; charset=utf-8")

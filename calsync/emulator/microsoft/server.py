"""The Microsoft emulator's WSGI application: routing, the request log, faults and delays.

Paths are Microsoft's, on one loopback port: the identity platform under `/<tenant>/`
(`/<tenant>/v2.0/.well-known/openid-configuration`, `/<tenant>/oauth2/v2.0/authorize`,
`/<tenant>/oauth2/v2.0/token`, `/<tenant>/discovery/v2.0/keys`) and Graph under `/v1.0/`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from calsync.emulator import consent
from calsync.emulator.microsoft import discovery, errors
from calsync.emulator.microsoft.graph import Graph
from calsync.emulator.microsoft.identity import Identity
from calsync.emulator.microsoft.state import MsState
from calsync.emulator.microsoft.subscriptions import Subscriptions

GRAPH_JSON = ("application/json;odata.metadata=minimal;odata.streaming=true;"
              "IEEE754Compatible=false;charset=utf-8")
_PREFERENCES = ("odata.maxpagesize", "outlook.timezone")

# (path, endpoint, methods); Graph's calendar paths come in three spellings each.
_CALENDARS = ("/v1.0/me/calendars/<calendar_id>", "/v1.0/me/calendar")
ROUTES = [
    ("/<tenant>/v2.0/.well-known/openid-configuration", "configuration", ["GET"]),
    ("/<tenant>/discovery/v2.0/keys", "keys", ["GET"]),
    ("/<tenant>/oauth2/v2.0/authorize", "authorize", ["GET", "POST"]),
    ("/<tenant>/oauth2/v2.0/token", "token", ["POST"]),
    ("/v1.0/me", "me", ["GET"]),
    ("/v1.0/me/calendars", "calendars", ["GET"]),
    *((path, "calendar", ["GET"]) for path in _CALENDARS),
    ("/v1.0/me/calendarView", "view", ["GET"]),
    *((f"{path}/calendarView", "view", ["GET"]) for path in _CALENDARS),
    ("/v1.0/me/calendarView/delta", "delta", ["GET"]),
    *((f"{path}/calendarView/delta", "delta", ["GET"]) for path in _CALENDARS),
    ("/v1.0/me/events", "create", ["POST"]),
    *((f"{path}/events", "create", ["POST"]) for path in _CALENDARS),
    ("/v1.0/me/events/<event_id>", "event", ["GET", "PATCH", "DELETE"]),
    *((f"{path}/events/<event_id>", "event", ["GET", "PATCH", "DELETE"])
      for path in _CALENDARS),
    ("/v1.0/subscriptions", "subscribe", ["POST"]),
    ("/v1.0/subscriptions/<subscription_id>", "subscription", ["GET", "PATCH", "DELETE"]),
    ("/v1.0/subscriptions/<subscription_id>/reauthorize", "reauthorize", ["POST"]),
    ("/", "index", ["GET"]),
    (consent.STYLE_PATH, "asset", ["GET"]),
    (consent.SCRIPT_PATH, "asset", ["GET"]),
]


def graph_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                   content_type: str = GRAPH_JSON) -> Response:
    response = Response(json.dumps(body, indent=1) + "\n", status=status,
                        content_type=content_type)
    response.headers["request-id"] = str(uuid.uuid4())
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class Application:
    """A WSGI callable; `log` holds every request it answered."""

    def __init__(self, state: MsState, identity: Identity, graph: Graph,
                 subscriptions: Subscriptions) -> None:
        self.state = state
        self.handlers: dict[str, Callable[..., Any]] = {
            "configuration": lambda request, tenant: discovery.configuration(
                request, tenant, state.browser_base),
            "keys": discovery.keys,
            "authorize": identity.authorize, "token": identity.token,
            "me": graph.me, "calendars": graph.calendars, "calendar": graph.calendar,
            "view": graph.view, "delta": graph.delta, "create": graph.create,
            "event": lambda request, **ids: {"GET": graph.get, "PATCH": graph.patch,
                                             "DELETE": graph.delete}[request.method](
                                                 request, **ids),
            "subscribe": subscriptions.create,
            "subscription": lambda request, subscription_id: {
                "GET": subscriptions.get, "PATCH": subscriptions.renew,
                "DELETE": subscriptions.delete}[request.method](request, subscription_id),
            "reauthorize": subscriptions.reauthorize, "index": self.index,
            "asset": lambda request: consent.asset(request.path),
        }
        self.url_map = Map([Rule(path, endpoint=endpoint, methods=methods)
                            for path, endpoint, methods in ROUTES], strict_slashes=False)

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.dispatch(Request(environ))(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        fault = self.state.admit(request)
        is_graph = request.path.startswith("/v1.0/")
        if fault is not None:
            failure = errors.fault(fault.status, fault.reason, fault.retry_after)
            if is_graph:
                return graph_response(failure.body(), failure.status, failure.headers)
            refused = errors.IdentityError(fault.status, "temporarily_unavailable", 50196,
                                           "The server is temporarily unavailable.")
            return graph_response(refused.body(), refused.status, failure.headers,
                                  "application/json; charset=utf-8")
        try:
            endpoint, values = self.url_map.bind_to_environ(request.environ).match()
            result = self.handlers[endpoint](request, **values)
        except errors.GraphError as error:
            client_id = request.headers.get("client-request-id", "")
            return graph_response(error.body(client_id), error.status, error.headers)
        except errors.IdentityError as error:
            return graph_response(error.body(), error.status,
                                  content_type="application/json; charset=utf-8")
        except (NotFound, MethodNotAllowed) as error:
            if is_graph:
                unknown = errors.unknown_path()
                return graph_response(unknown.body(), unknown.status)
            return error.get_response(request.environ)
        except HTTPException as error:
            return error.get_response(request.environ)
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status=204)
        body, status = result if isinstance(result, tuple) else (result, 200)
        headers = {}
        applied = [p.strip() for header in request.headers.getlist("Prefer")
                   for p in header.split(",") if p.strip().startswith(_PREFERENCES)]
        if is_graph and applied:
            headers["Preference-Applied"] = ", ".join(applied)
        return graph_response(body, status, headers)

    def index(self, request: Request) -> Response:
        base = request.host_url.rstrip("/")
        lines = [f"authority host: {base}  (authority: {base}/common)",
                 f"graph endpoint: {base}/v1.0/"]
        return Response("Microsoft Graph + identity platform emulator\n\n" + "\n".join(lines)
                        + "\n", content_type="text/plain; charset=utf-8")


class BrowserFront:
    """The consent page alone, for a plain-HTTP listener: what a person's browser visits
    when it does not trust the emulator's CA (a demo). Everything else answers 404."""

    def __init__(self, app: Application) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.endswith("/oauth2/v2.0/authorize") or path in (consent.STYLE_PATH,
                                                                 consent.SCRIPT_PATH):
            return self.app(environ, start_response)
        return NotFound()(environ, start_response)

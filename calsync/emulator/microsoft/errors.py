"""Graph's and the identity platform's error bodies.

Graph answers `{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}`; the token endpoint answers `{"error", "error_description" (with
its AADSTS number), "error_codes", "timestamp", "trace_id", "correlation_id"}`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

# The messages Graph sends with the codes the emulator can be told to fail with.
FAULT_MESSAGES = {
    "ApplicationThrottled": "Application is over its MailboxConcurrency limit.",
    "TooManyRequests": "Too many requests.",
    "ServiceUnavailable": "Service unavailable.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "InternalServerError": "An internal server error occurred.",
    "generalException": "An unspecified error has occurred.",
}
DEFAULT_FAULT_CODES = {429: "ApplicationThrottled", 503: "ServiceUnavailable",
                       500: "InternalServerError", 504: "generalException"}


class GraphError(Exception):
    """A Graph API error; `body(request_id)` is the JSON Graph sends with it."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self, client_request_id: str = "") -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        return {"error": {"code": self.code, "message": self.message, "innerError": {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id, "client-request-id": client_request_id or request_id}}}


class IdentityError(Exception):
    """A token endpoint error, with the AADSTS number Microsoft puts in front."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(f"{error}: AADSTS{aadsts}: {description}")
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description

    def body(self) -> dict[str, Any]:
        trace = str(uuid.uuid4())
        return {"error": self.error,
                "error_description": f"AADSTS{self.aadsts}: {self.description} "
                                     f"Trace ID: {trace} Correlation ID: {uuid.uuid4()} "
                                     f"Timestamp: {datetime.now(UTC):%Y-%m-%d %H:%M:%SZ}",
                "error_codes": [self.aadsts],
                "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": trace, "correlation_id": str(uuid.uuid4())}


def fault(status: int, code: str, retry_after: int | None) -> GraphError:
    code = code or DEFAULT_FAULT_CODES.get(status, "generalException")
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return GraphError(status, code, FAULT_MESSAGES.get(code, code), headers)


def unauthenticated(empty: bool) -> GraphError:
    message = ("Access token is empty." if empty
               else "Access token has expired or is not yet valid.")
    return GraphError(401, "InvalidAuthenticationToken", message, {
        "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline'
                            '.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-'
                            '000000000000"'})


def access_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied",
                      "Access is denied. Check credentials and try again.")


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def unknown_path() -> GraphError:
    return GraphError(400, "BadRequest", "Resource not found for the segment.")


def invalid_request(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


def missing_parameter(name: str) -> GraphError:
    return GraphError(400, "ErrorInvalidParameter",
                      f"This request requires a time window specified by the query string "
                      f"parameters StartDateTime and EndDateTime. Missing: {name}.")


def time_zone_not_supported(name: str) -> GraphError:
    return GraphError(400, "TimeZoneNotSupportedException",
                      "A valid TimeZone value must be specified. The following TimeZone value "
                      f"is not supported: '{name}'.")


def change_key_mismatch() -> GraphError:
    return GraphError(412, "ErrorIrresolvableConflict",
                      "The send or update operation could not be performed because the change "
                      "key passed in the request does not match the current change key for the "
                      "item.")


def sync_state_not_found(location: str) -> GraphError:
    # Graph's documented reset: 410 Gone, and where to start the round again.
    return GraphError(410, "syncStateNotFound",
                      "The sync state generation is not found. Restart the synchronization "
                      "with a full delta request.", {"Location": location})


def subscription_not_found() -> GraphError:
    return GraphError(404, "ResourceNotFound", "The object was not found.")


def subscription_refused(operation: str, reason: str) -> GraphError:
    # Outlook's subscription errors come wrapped this way.
    return GraphError(400, "ExtensionError", f"Operation: {operation}; Exception: [Status Code: "
                                             f"BadRequest; Reason: {reason}]")


def validation_failed(which: str) -> GraphError:
    return GraphError(400, "ValidationError",
                      f"Subscription validation request failed. {which} must respond with "
                      "200 OK to validation request.")

"""Google's error bodies: the Calendar API's JSON envelope and the OAuth endpoints' pairs."""

from __future__ import annotations

from typing import Any

# The gRPC-style status Google's front end puts beside the numeric code.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
    502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}
# The message Google pairs with each reason, for injected faults.
FAULT_MESSAGES = {
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
    "backendError": "Backend Error",
    "internalError": "Internal Error",
    "forbidden": "Forbidden",
    "notFound": "Not Found",
}
USAGE_LIMITS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded",
                "dailyLimitExceeded"}
AUTH_INVALID = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project.")
AUTH_MISSING = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project.")


class ApiError(Exception):
    """A Calendar API error; `body()` is the JSON Google sends with it."""

    def __init__(self, status: int, reason: str, message: str, *, domain: str = "global",
                 location: str = "", location_type: str = "", item_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location = location
        self.location_type = location_type
        self.item_message = item_message or message

    def body(self) -> dict[str, Any]:
        item: dict[str, str] = {"domain": self.domain, "reason": self.reason,
                                "message": self.item_message}
        if self.location:
            item["locationType"] = self.location_type
            item["location"] = self.location
        return {"error": {"code": self.status, "message": self.message, "errors": [item],
                          "status": STATUS_NAMES.get(self.status, "UNKNOWN")}}


class OAuthError(Exception):
    """A token or revoke endpoint error: `{"error": ..., "error_description": ...}`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def not_found() -> ApiError:
    return ApiError(404, "notFound", "Not Found")


def bad_request(message: str = "Bad Request", reason: str = "badRequest") -> ApiError:
    return ApiError(400, reason, message)


def invalid(message: str) -> ApiError:
    return ApiError(400, "invalid", message)


def invalid_parameter(name: str, value: str, pattern: str) -> ApiError:
    return ApiError(400, "invalidParameter",
                    f"Invalid value '{value}'. Values must match the following regular "
                    f"expression: '{pattern}'", location=name, location_type="parameter")


def full_sync_required() -> ApiError:
    return ApiError(410, "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.")


def sync_token_restrictions() -> ApiError:
    # Google's message, verbatim. Its reason string is not documented; calsync's issue
    # names it `syncTokenWithRequestRestrictions`, and code should branch on the 400 alone.
    return ApiError(400, "syncTokenWithRequestRestrictions",
                    "Sync token cannot be used with other request restrictions.")


def time_range_empty(location: str = "") -> ApiError:
    return ApiError(400, "timeRangeEmpty", "The specified time range is empty.",
                    domain="calendar", location=location,
                    location_type="parameter" if location else "")


def condition_not_met() -> ApiError:
    return ApiError(412, "conditionNotMet", "Precondition Failed",
                    location="If-Match", location_type="header")


def auth_error(missing: bool) -> ApiError:
    if missing:
        return ApiError(401, "required", AUTH_MISSING, item_message="Login Required.",
                        location="Authorization", location_type="header")
    return ApiError(401, "authError", AUTH_INVALID, item_message="Invalid Credentials",
                    location="Authorization", location_type="header")


def insufficient_scopes() -> ApiError:
    return ApiError(403, "insufficientPermissions",
                    "Request had insufficient authentication scopes.",
                    item_message="Insufficient Permission")


def fault(status: int, reason: str) -> ApiError:
    domain = "usageLimits" if reason in USAGE_LIMITS else "global"
    return ApiError(status, reason, FAULT_MESSAGES.get(reason, reason), domain=domain)

"""Rate limits (Flask-Limiter): sign-in per account and per address, sign-up, the feed and
answer links; each limit is a setting, and a refusal is a 429 that says when to try again.

Counts live in Redis when REDIS_URL is set (shared by every process), else in each
process's memory. The limiter is one module-level extension, as Flask extensions are: each
`init_app` gives it that app's storage, so one process serves one calsync app at a time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user

from calsync.config import Settings
from calsync.web import current_settings
from calsync.web.errors import error_response

limiter = Limiter(
    key_func=get_remote_address,
    # A moving window has no boundary at which a burst of twice the limit gets through.
    strategy="moving-window",
    headers_enabled=True,
    # A Redis outage must not turn sign-in into a 500: count in memory until it is back.
    in_memory_fallback_enabled=True,
    swallow_errors=True,
)


def _setting(name: str) -> Callable[[], str]:
    return lambda: getattr(current_settings(), name)


def _account() -> str:
    """The account a sign-in names, as sign-in reads it (case and spaces don't matter)."""
    return (request.form.get("email") or "").strip().lower()[:320]


def _failed(response: Response) -> bool:
    return response.status_code != 302  # a sign-in that worked redirects


# Shared by the password form and "Sign in with Google": one count per address.
signin_by_address = limiter.shared_limit(
    _setting("rate_limit_signin_address"), scope="signin-address", methods=["POST"],
    error_message="Too many sign-in attempts from your network.")
# Only failed attempts count against an account, so its owner signing in is never refused
# because of their own successes; waits grow from a minute to an hour to a day.
signin_by_account = limiter.limit(
    _setting("rate_limit_signin_account"), key_func=_account, methods=["POST"],
    deduct_when=_failed, error_message="Too many wrong passwords for this account.")
# Guessing the current password on the password form is guessing a password too.
password_change_by_user = limiter.limit(
    _setting("rate_limit_signin_account"), key_func=lambda: f"user-{current_user.id}",
    methods=["POST"], deduct_when=_failed,
    error_message="Too many wrong passwords for this account.")
signup_by_address = limiter.limit(
    _setting("rate_limit_signup_address"), methods=["POST"],
    error_message="Too many sign-ups from your network.")
feed_by_token = limiter.limit(
    _setting("rate_limit_feed"), key_func=lambda: (request.view_args or {}).get("token", ""),
    error_message="This feed address is being read far more often than a calendar app does.")
# For the answer links in prompt emails (issue 9): decorate each of their routes with it.
answer_link_by_address = limiter.shared_limit(
    _setting("rate_limit_answer_link"), scope="answer-link",
    error_message="Too many answer links opened from your network.")


def init_app(app: Flask, settings: Settings) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config["RATELIMIT_KEY_PREFIX"] = f"{settings.queue_name}-limits"
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, too_many_requests)


def too_many_requests(error: RateLimitExceeded) -> Response:
    wait = _seconds_to_wait()
    response = error_response(429, "rate_limited",
                              f"{error.description} Try again in {_in_words(wait)}.",
                              retry_after_seconds=wait)
    response.headers["Retry-After"] = str(wait)
    return response


def _seconds_to_wait() -> int:
    breached = limiter.current_limit
    if breached is None:
        return 60
    # The storage rounds its reset time up to a whole second: never say more than the window.
    wait = math.ceil(breached.reset_at - time.time())
    return max(1, min(wait, breached.limit.get_expiry()))


def _in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"about {hours} hour{'s' if hours != 1 else ''}"

"""Rate limits (Flask-Limiter): sign-in per account and per address, sign-up, the feed and
answer links; each limit is a setting, and a refusal is a 429 that says when to try again.

Counts live in Redis when REDIS_URL is set (shared by every process), else in each
process's memory. The limiter is one module-level extension, as Flask extensions are: each
`init_app` gives it that app's storage, so one process serves one calsync app at a time.
The feed's fast path (calsync.web.feed_fast_path) counts the feed's limit through FeedLimit:
the same limits, store and keys, so both paths share one count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.constants import HeaderNames
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many
from limits.storage import MemoryStorage

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
# Flask-Limiter counts a route's own limit under its endpoint's name.
FEED_SCOPE = "feeds.feed"
feed_by_token = limiter.limit(
    _setting("rate_limit_feed"), key_func=lambda: (request.view_args or {}).get("token", ""),
    error_message="This feed address is being read far more often than a calendar app does.")
# For the answer links in prompt emails (issue 9): decorate each of their routes with it.
answer_link_by_address = limiter.shared_limit(
    _setting("rate_limit_answer_link"), scope="answer-link",
    error_message="Too many answer links opened from your network.")


class SweptMemoryStorage(MemoryStorage):
    """limits' memory storage, swept of expired entries at most once a second.

    The stock one starts a new 10 ms timer thread on each hit unless one is still running,
    which under load is nearly every request (milliseconds each on a busy machine). The
    sweep only frees memory: a window's count is read from its entries' times either way.
    """

    STORAGE_SCHEME = ["calsync-memory"]  # its URI: calsync-memory://
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: str) -> None:
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions, **options)

    # The parent calls self.__schedule_expiry(), which Python names this.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


class FeedLimit:
    """feed_by_token's limit counted without a Flask request, for the feed's fast path."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        # Flask-Limiter's order: shortest window first; its headers speak of that one.
        self.limits = sorted(parse_many(settings.rate_limit_feed))
        self.prefix: str = app.config["RATELIMIT_KEY_PREFIX"]

    def hit(self, token: str) -> list[tuple[str, str]] | None:
        """Count a request for this feed and return the headers Flask-Limiter would add to
        its answer; None, having counted nothing, when Flask-Limiter should decide instead:
        the request is to be refused, or the store failed (Flask-Limiter falls back)."""
        if not limiter.enabled:
            return []
        strategy = limiter.limiter  # the in-memory fallback while Redis is unreachable
        keys = (self.prefix, token, FEED_SCOPE)
        try:
            # Tested first, so a refusal is counted once, by Flask-Limiter. Two requests
            # racing for the last place may both pass the test; the loser's earlier windows
            # are then counted by both paths.
            if not all(strategy.test(limit, *keys) for limit in self.limits):
                return None
            if not all(strategy.hit(limit, *keys) for limit in self.limits):
                return None
            reset_at, remaining = strategy.get_window_stats(self.limits[0], *keys)
        except Exception:  # any store's own errors: Flask-Limiter handles them
            return None
        reset = int(reset_at + 1)
        return [(HeaderNames.LIMIT.value, str(self.limits[0].amount)),
                (HeaderNames.REMAINING.value, str(remaining)),
                (HeaderNames.RESET.value, str(reset)),
                (HeaderNames.RETRY_AFTER.value, str(int(reset - time.time())))]


def init_app(app: Flask, settings: Settings) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "calsync-memory://"
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

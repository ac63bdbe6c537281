"""calsync's errors: a small hierarchy whose fields a page or an API response can show.

One place (`calsync.web.errors`) maps them to HTTP; no code parses exception strings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from calsync.domain.vocabulary import SourceStatus


class CalsyncError(Exception):
    """Root of every error calsync raises on purpose; `message` is a sentence for a person."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class ConfigError(CalsyncError):
    """A setting has a value calsync cannot use; names the variable and what is expected."""

    code = "bad_setting"

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class PluginError(CalsyncError):
    """A provider name that is neither built in, an entry point, nor an importable class."""

    code = "unknown_provider"

    def __init__(self, name: str, valid: list[str]) -> None:
        super().__init__(
            f"No calendar provider called {name!r}.",
            f"Valid names: {', '.join(sorted(valid))}, or a dotted path to a BaseProvider class.",
        )
        self.name = name
        self.valid = valid


class SourceError(CalsyncError):
    """A source could not be read: the feed is unreachable, refused, or not a calendar.

    `transient` errors (timeouts, 5xx) are retried with backoff; the others wait for the
    user to fix the source. `retry_in` is how long the server asked calsync to stay away
    (a 429's or 503's Retry-After): no retry comes sooner.
    """

    code = "source_error"

    def __init__(self, reason: str, hint: str = "", *, transient: bool = False,
                 status: SourceStatus | str = SourceStatus.ERROR, source_id: int | None = None,
                 cursor: dict[str, Any] | None = None,
                 retry_in: timedelta | None = None) -> None:
        super().__init__(reason, hint)
        self.reason = reason
        self.transient = transient
        self.retry_in = retry_in
        # NEEDS_RECONNECT (the grant was revoked) and DISABLED (the calendar is gone) stop
        # retries until the user acts; ERROR retries on schedule. A plugin may give the
        # plain string: it becomes the member, and a misspelt one fails here.
        self.status = SourceStatus(status)
        self.source_id = source_id
        # A cursor to store despite the failure (None keeps the old one): a provider records
        # what failed, so the same failing calendar is not read again at every retry.
        self.cursor = cursor


class SourceUnavailable(SourceError):
    """The calendar's server is there but did not answer in time or said it is failing
    for now (a time-out, 429, 5xx): the address may well be right, so a calendar being
    added is kept and read again later instead of being refused."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason, hint, transient=True)


class UnsupportedOperation(CalsyncError):
    """A provider was asked for something its capability flags say it cannot do."""

    code = "unsupported"


class NotFound(CalsyncError):
    """The thing does not exist, or belongs to another user: both look the same from outside."""

    code = "not_found"
    http_status = 404


class ValidationFailed(CalsyncError):
    """A request named a field with a value calsync cannot accept.

    `field` and `message` are kept apart so a page can put the sentence beside the field
    and the API can name both; `str()` joins them for logs and the CLI.
    """

    code = "invalid"
    http_status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {super().__str__()}"


class LimitReached(ValidationFailed):
    """The user already has as many of something as a setting allows; `field` is the one
    that asked for another."""

    code = "limit_reached"


class PromptClosed(CalsyncError):
    """The prompt can no longer take this action: its meeting was cancelled, or it is not
    waiting for an answer."""

    code = "prompt_closed"
    http_status = 409


class PromptAlreadyAnswered(PromptClosed):
    """The prompt was answered (or put away) since the caller last saw it: the new answer
    is not applied unless the caller says it replaces the recorded one. `recorded` says what
    is recorded (e.g. "Yes", "Not a sales meeting"), `at` when it was answered."""

    code = "prompt_already_answered"

    def __init__(self, recorded: str, at: datetime | None) -> None:
        when = f" at {at.isoformat()}" if at is not None else ""
        super().__init__(f"This prompt already has its answer: {recorded}{when}.",
                         'Send "replace": true to change it.')
        self.recorded = recorded
        self.at = at


class OAuthFailed(CalsyncError):
    """An OAuth sign-in or connection did not finish: expired, refused, or unclear who it is."""

    code = "oauth_failed"
    http_status = 400


class NeedsConsent(CalsyncError):
    """The provider sent no refresh token and calsync holds none: ask again for consent."""

    code = "needs_consent"

    def __init__(self, account: str) -> None:
        super().__init__("Google did not give calsync lasting access to this account.",
                         "Connect again and approve the request.")
        self.account = account


class MailFailed(CalsyncError):
    """The SMTP server did not take an email. `reply` is its answer, shown to the user;
    `transient` failures (4xx, timeouts, refused connections) are retried with backoff,
    and `recipient_refused` means this address will never work (5xx to RCPT TO)."""

    code = "mail_failed"
    http_status = 502

    def __init__(self, reply: str, *, transient: bool, recipient_refused: bool = False) -> None:
        super().__init__(f"The mail server did not take the email: {reply}")
        self.reply = reply
        self.transient = transient
        self.recipient_refused = recipient_refused


class LinkRefused(CalsyncError):
    """An answer or unsubscribe link that cannot be used: forged, tampered with, expired,
    or not for this prompt. Nothing was changed."""

    code = "link_refused"
    http_status = 400

"""Secrets out of log lines: feed tokens, OAuth codes and states, API and bearer tokens,
passwords in queries, and random-looking tokens in URLs become "[secret]". Pure text in, text out.

Applied to every finished line (access log, app logs, warnings), so a secret is caught
wherever it sits: a message, an extra field, a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable

SECRET = "[secret]"  # noqa: S105 - the placeholder, not a secret

# Names whose value is a secret: code, state, token, api_key, password, client_secret,
# signature, session... as query or form parameters and as keys of a dict or JSON object.
_NAMES = ("code", "state", "token", "key", "secret", "pass", "pwd", "auth", "sig", "session",
          "credential", "nonce", "verifier", "ticket", "otp", "jwt")
_HIDDEN_NAME = re.compile("(?i)" + "|".join(_NAMES))


def _hider(name: int, close: int) -> Callable[[re.Match[str]], str]:
    """A replacement that hides the value between group 1 and group `close` when group
    `name` is a secret's name, and keeps the match otherwise."""

    def hide(match: re.Match[str]) -> str:
        if not _HIDDEN_NAME.search(match[name]):
            return match[0]
        return match[1] + SECRET + match[close]

    return hide


Replacement = str | Callable[[re.Match[str]], str]

# (a substring one of which the line must hold, lower-cased: a cheap test before the
# pattern; the pattern; its replacement). Patterns scan each line once, without nesting.
_RULES: tuple[tuple[tuple[str, ...], re.Pattern[str], Replacement], ...] = (
    # The feed's address is its only key: /feed/<token>.ics, also URL-encoded in a query.
    (("feed",), re.compile(r"(?i)((?:/|%2F)feed(?:/|%2F))[^/\s?#&\"'\\<>]+?(?=\.ics|%2Eics)"),
     rf"\1{SECRET}"),
    # A signed link's whole token, /a/<payload>.<signature> or /u/...: the payload is
    # guessable, so the signature after the dot is the secret and both go.
    (("/a/", "/u/", "%2fa%2f", "%2fu%2f"),
     re.compile(r"(?i)((?:/|%2F)[au](?:/|%2F))[\w-]+\.[\w-]+"), rf"\1{SECRET}"),
    # user:password@ in any URL (a feed URL or a database URL with credentials).
    (("://",), re.compile(r"(?i)(\b[a-z][a-z0-9+.-]{0,20}://)[^/\s@\"'\\<>]+@"),
     rf"\1{SECRET}@"),
    # Secret-named parameters of a query, a form body or a key=value log message; a value
    # ends where the parameter, the URL, a quoted string or a JSON escape ends.
    (_NAMES, re.compile(r"(?i)((?:[?&;\s]|%3F|%26|^)([\w.-]+)(?:=|%3D))"
                               r"(?:(?!%26)[^&\s#\"'\\<>;)])+()"), _hider(2, 3)),
    # The same names as keys of a dict or JSON object: 'refresh_token': '...'.
    (_NAMES, re.compile(r"""((["'])([\w.-]+)\2[ \t]*:[ \t]*(["']))"""
                        r"""(?:[^"'\\]|\\.|(?!\4)["'])*(\4)"""), _hider(3, 5)),
    (("bearer", "basic"), re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"),
     rf"\1 {SECRET}"),
    # Tokens by their shape: calsync's API tokens and webhook secrets, Google's access and
    # refresh tokens.
    (("cs_", "whsec_", "ya29.", "1//"),
     re.compile(r"\b(?:cs_[A-Za-z0-9_-]{16,}|whsec_[A-Za-z0-9_-]{16,}|ya29\.[A-Za-z0-9._-]+"
                r"|1//[A-Za-z0-9._-]{16,})"),
     SECRET),
    # A long random run as a path segment or a value (a private calendar URL's key, an answer
    # link's token): letters and digits mixed, 24 characters or more.
    (("/", "="),
     re.compile(r"(?a)(?<=[/=])(?=[\w~-]*\d)(?=[\w~-]*[A-Za-z])[\w~-]{24,}(?![\w~-])"), SECRET),
)


def scrub(text: str) -> str:
    """`text` with every secret this module knows the shape of replaced by "[secret]"."""
    lowered = text.lower()
    for needles, pattern, replacement in _RULES:
        if any(needle in lowered for needle in needles):
            text = pattern.sub(replacement, text)
    return text

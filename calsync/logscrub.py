"""Secrets out of log lines: feed tokens, OAuth codes and states, API and bearer tokens,
passwords in queries, and random-looking tokens in URLs become "[secret]". Pure text in, text out.

Applied to every finished line (access log, app logs, warnings), so a secret is caught
wherever it sits: a message, an extra field, a traceback.
"""

from __future__ import annotations

import re

SECRET = "[secret]"  # noqa: S105 - the placeholder, not a secret

# Query (or form) parameter names whose value is a secret: code, state, token, api_key,
# password, client_secret, signature, session... also inside an encoded URL (%3F, %26).
_HIDDEN_NAMES = (r"code|state|token|key|secret|pass|pwd|auth|sig|session|credential|nonce"
                 r"|verifier|ticket|otp|jwt")
# A value ends where the parameter, the URL, a quoted string or a JSON escape ends.
_VALUE = r"(?:(?!%26)[^&\s#\"'\\<>;)])+"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # The feed's address is its only key: /feed/<token>.ics, also URL-encoded in a query.
    (re.compile(r"(?i)((?:/|%2F)feed(?:/|%2F))[^/\s?#&\"'\\<>]+?(?=\.ics|%2Eics)"),
     rf"\1{SECRET}"),
    # user:password@ in any URL (a feed URL or a database URL with credentials).
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@\"'\\<>]+@"), rf"\1{SECRET}@"),
    # Secret-named parameters of a query, a form body or a key=value log message.
    (re.compile(rf"(?i)((?:[?&;\s]|%3F|%26|^)[\w.-]*(?:{_HIDDEN_NAMES})[\w.-]*(?:=|%3D)){_VALUE}"),
     rf"\1{SECRET}"),
    # The same names as keys of a dict or JSON object: 'refresh_token': '...'.
    (re.compile(rf"(?i)([\"'][\w.-]*(?:{_HIDDEN_NAMES})[\w.-]*[\"']\s*:\s*)([\"'])"
                r"(?:(?!\2)[^\\]|\\.)*\2"), rf"\1\2{SECRET}\2"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), rf"\1 {SECRET}"),
    # Tokens by their shape: calsync's API tokens, Google's access and refresh tokens.
    (re.compile(r"\b(?:cs_[A-Za-z0-9_-]{16,}|ya29\.[A-Za-z0-9._-]+|1//[A-Za-z0-9._-]{16,})"),
     SECRET),
    # A long random run as a path segment or a value (a private calendar URL's key, an answer
    # link's token): letters and digits mixed, 24 characters or more.
    (re.compile(r"(?a)(?<=[/=])(?=[\w~-]*\d)(?=[\w~-]*[A-Za-z])[\w~-]{24,}(?![\w~-])"), SECRET),
)


def scrub(text: str) -> str:
    """`text` with every secret this module knows the shape of replaced by "[secret]"."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text

"""The one check every redirect target taken from a request goes through (`next=` and kin).

Only a path on this site passes; anything else is ignored in favour of a known page.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_TARGET_LENGTH = 2000
# Control characters break the Location header (CR/LF) or are dropped by browsers, which
# turns "/\t/evil.example" into "//evil.example"; browsers read a backslash as a slash.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def safe_target(target: str | None, fallback: str) -> str:
    """`target` if it is a same-site path like "/deals?page=2", else `fallback`."""
    if not target or len(target) > MAX_TARGET_LENGTH or _UNSAFE.search(target):
        return fallback
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target

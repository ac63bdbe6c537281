"""Text as calendars may carry it: RFC 5545 TEXT forbids control characters but TAB.

One pure function, used by every writer (the feed, the Google write-back), so a note typed
with a stray NUL or ESC never reaches a calendar client that would choke on it.
"""

from __future__ import annotations

import re

# C0 controls except TAB, LF and CR (line breaks are the writers' to escape or keep), DEL,
# and the C1 controls (U+0080-U+009F), which no calendar shows and some parsers reject.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def calendar_text(value: str) -> str:
    """`value` without the control characters a calendar must not carry."""
    return _CONTROL.sub("", value)

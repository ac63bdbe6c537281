"""Split iCalendar text into its events by UID with a line scan, not a parse, and hash them,
so a changed feed is parsed only where it changed (issue 12).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

# The lines the scan reads (it scans the text after a newline put before it, so the first
# line starts after one too); folded continuation lines start with a blank, so never match.
# The lookahead takes the line's end (group 4) and the next line's first blank (group 5):
# one there means the line was folded.
_LINE = re.compile(r"\n(BEGIN|END|UID|RRULE|RDATE|DTSTART)([;:])([^\r\n]*)"
                   r"(?=(\r?\n|$)([ \t]?))", re.IGNORECASE)
_KEYS = ("BEGIN", "END", "UID", "RRULE", "RDATE", "DTSTART")
_PREFIXES = frozenset(key[:n] for key in _KEYS for n in range(1, len(key) + 1))
# A line so short it may be one of those names folded before its colon (RFC 5545 allows a
# fold anywhere); the other folds are seen on the lines `_LINE` finds.
_SHORT_FOLD = re.compile(r"\n([A-Za-z]{1,7})\r?\n[ \t]")
_NAME = re.compile(r"[A-Z0-9-]+")
_UNFOLD = re.compile(r"\r?\n[ \t]")
END = "END:VCALENDAR\r\n"


@dataclass
class Split:
    """One calendar's text cut into `head` (its properties, time zones and any component but
    a VEVENT, without the closing END:VCALENDAR) and its top-level VEVENT blocks by UID."""

    text: str
    head: str = ""
    blocks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # spans in `text`
    # UIDs whose events repeat (RRULE, RDATE) or that have several blocks (a series'
    # overrides): the window's move can add or drop their occurrences.
    recurring: set[str] = field(default_factory=set)
    # DTSTART's date as written (YYYYMMDD, before any zone) of each other UID's event.
    starts: dict[str, str] = field(default_factory=dict)

    def head_digest(self) -> str:
        return _digest(self.head)

    @cached_property
    def digests(self) -> dict[str, str]:
        """Each UID's hash over its blocks: a series changes with any of its overrides."""
        return {uid: _digest("".join(self.text[a:b] for a, b in spans))
                for uid, spans in self.blocks.items()}

    def calendars(self, uids: Iterable[str], size: int) -> Iterator[str]:
        """Calendars of at most `size` UIDs each (in `uids`' order), each with the head, so
        every part is read with the calendar's zones and properties."""
        part: list[str] = []
        count = 0
        for uid in uids:
            part += [self.text[a:b] for a, b in self.blocks[uid]]
            count += 1
            if count == size:
                yield "".join([self.head, *part, END])
                part, count = [], 0
        if count:
            yield "".join([self.head, *part, END])


@dataclass(frozen=True)
class Previous:
    """What the last read of a calendar found: its head's hash and each UID's; `since`, the
    end of the window it was read in, when the window has moved later since."""

    head: str
    events: Mapping[str, str]
    since: date | None = None


@dataclass(frozen=True)
class Selection:
    """The UIDs to parse, those gone since `Previous`, and whether the read is `complete`."""

    uids: list[str]
    vanished: list[str]
    complete: bool


def select(parts: Split, previous: Previous | None, window_end: date) -> Selection:
    """Every UID without `previous`, or when the head changed (a zone or X-WR-TIMEZONE can
    move every event); else the UIDs that changed or appeared, and those the window's move
    can change."""
    if previous is None or previous.head != parts.head_digest():
        return Selection(list(parts.blocks), [], complete=True)
    moved = _moved(parts, previous.since, window_end) if previous.since else set()
    return Selection([uid for uid, digest in parts.digests.items()
                      if previous.events.get(uid) != digest or uid in moved],
                     [uid for uid in previous.events if uid not in parts.blocks],
                     complete=False)


def _moved(parts: Split, since: date, window_end: date) -> set[str]:
    """UIDs a window's move from ending at `since` can change: repeating ones gain and lose
    dates; a single event can only enter at the far end. Dates are compared as written, a
    day either side covering any zone."""
    low = (since - timedelta(days=1)).strftime("%Y%m%d")
    high = (window_end + timedelta(days=1)).strftime("%Y%m%d")
    return parts.recurring | {uid for uid, start in parts.starts.items()
                              if not (len(start) == 8 and start.isdigit())
                              or low < start <= high}


def split(text: str) -> Split | None:
    """`text` (decoded, not yet repaired: each part is) split by UID, or None when the scan
    cannot tell its
    events apart safely and the calendar must be parsed whole: several calendars, BEGIN and
    END lines that don't pair, an event without a plain UID (the parser would make one up)."""
    text = "\n" + text
    if any(found[1].upper() in _PREFIXES for found in _SHORT_FOLD.finditer(text)):
        text = _UNFOLD.sub("", text)
    try:
        return _scan(text)
    except _Folded:
        return _scan(_UNFOLD.sub("", text))


class _Folded(Exception):
    """A line the scan reads goes on in a folded line: the scan reads the text unfolded."""


def _scan(text: str) -> Split | None:
    found = Split(text)
    head: list[str] = []
    depth, calendars, done = 0, 0, 0
    block = -1  # where the open top-level VEVENT began
    names: list[str] = []
    uid = start = ""
    repeats = False
    for line in _LINE.finditer(text):
        name, value, after = line[1].upper(), line[3], line.end(4)
        if line[5]:
            raise _Folded
        if name == "BEGIN":
            kind = value.strip().upper()
            if (depth == 0 and (kind != "VCALENDAR" or calendars)) or not _NAME.fullmatch(kind):
                return None
            calendars += depth == 0
            if depth == 1 and kind == "VEVENT":
                block, uid, start, repeats = line.start() + 1, "", "", False
            names.append(kind)
            depth += 1
        elif name == "END":
            if not names or names.pop() != value.strip().upper():
                return None
            depth -= 1
            if depth == 1 and block >= 0:
                end = after
                if not _plain(uid):
                    return None
                found.blocks.setdefault(uid, []).append((block, end))
                if repeats or len(found.blocks[uid]) > 1:
                    found.recurring.add(uid)
                    found.starts.pop(uid, None)
                else:
                    found.starts[uid] = start
                head.append(text[done:block])
                done, block = end, -1
            elif depth == 0:
                if text[after:].strip():
                    return None  # something after the calendar: the parser reads it whole
                head.append(text[done:line.start() + 1])
        elif depth == 2 and block >= 0:  # the event's own lines, not its alarms'
            if name == "UID" and not uid:
                uid = value if line[2] == ":" else "\\"  # parameters: not plain
            elif name in ("RRULE", "RDATE"):
                repeats = True
            elif name == "DTSTART" and not start:
                start = value.rpartition(":")[2].strip()[:8]
    if depth or not calendars:
        return None
    found.head = "".join(head)[1:]  # without the newline put before the text
    return found


def _plain(uid: str) -> bool:
    """A UID the parser reads as written: no escapes, no blanks around it, not hashed."""
    return (bool(uid) and "\\" not in uid and uid == uid.strip() and uid.isprintable()
            and len(uid) <= 1000)



def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

"""Split an iCalendar body into its events by UID with a line scan of its bytes, not a
parse, and hash them, so a changed feed is parsed only where it changed (issue 12).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

# Encodings in which every byte below 0x80 is that ASCII character: the scan reads those.
ASCII_BASED = frozenset({"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "iso8859-15", "ascii"})
_FIRST = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*(BEGIN:VCALENDAR)[ \t]*(?=\r?\n)",
                    re.IGNORECASE)
# The lines the scan reads; folded continuation lines start with a blank, so never match.
# The lookahead takes the line's end (group 4) and the next line's first blank (group 5):
# one there means the line was folded.
_LINE = re.compile(rb"\n(BEGIN|END|UID|RRULE|RDATE|DTSTART)([;:])([^\r\n]*)"
                   rb"(?=(\r?\n|$)([ \t]?))", re.IGNORECASE)
_KEYS = (b"BEGIN", b"END", b"UID", b"RRULE", b"RDATE", b"DTSTART")
_PREFIXES = frozenset(key[:n] for key in _KEYS for n in range(1, len(key) + 1))
# A line so short it may be one of those names folded before its colon (RFC 5545 allows a
# fold anywhere); the other folds are seen on the lines `_LINE` finds.
_SHORT_FOLD = re.compile(rb"\n([A-Za-z]{1,7})\r?\n[ \t]")
_NAME = re.compile(rb"[A-Z0-9-]+")
_UNFOLD = re.compile(rb"\r?\n[ \t]")
END = b"END:VCALENDAR\r\n"


@dataclass
class Split:
    """One calendar's bytes cut into `head` (its properties, time zones and any component
    but a VEVENT, without the closing END:VCALENDAR) and its top-level VEVENT blocks by UID."""

    data: bytes
    head: bytes = b""
    blocks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # spans in `data`
    # UIDs whose events repeat (RRULE, RDATE) or that have several blocks (a series'
    # overrides): the window's move can add or drop their occurrences.
    recurring: set[str] = field(default_factory=set)
    # DTSTART's date as written (YYYYMMDD, before any zone) of each other UID's event.
    starts: dict[str, str] = field(default_factory=dict)

    def head_digest(self) -> str:
        return hashlib.blake2b(self.head, digest_size=8).hexdigest()

    @cached_property
    def digests(self) -> dict[str, str]:
        """Each UID's hash over its blocks: a series changes with any of its overrides."""
        view = memoryview(self.data)
        found = {}
        for uid, spans in self.blocks.items():
            digest = hashlib.blake2b(digest_size=8)
            for start, end in spans:
                digest.update(view[start:end])
            found[uid] = digest.hexdigest()
        return found

    def groups(self, uids: Iterable[str], size: int) -> Iterator[list[str]]:
        """`uids` (in their order) in parts of about `size` bytes of events, or three times
        the head's when that is more, so a head of many zones is not parsed again for every
        few events."""
        budget = max(size, 3 * len(self.head))
        part: list[str] = []
        held = 0
        for uid in uids:
            part.append(uid)
            held += sum(b - a for a, b in self.blocks[uid])
            if held >= budget:
                yield part
                part, held = [], 0
        if part:
            yield part

    def calendar(self, uids: Iterable[str]) -> bytes:
        """A calendar of the events of `uids`, with the head, so it is read with the
        calendar's zones and properties."""
        return b"".join([self.head, *(self.data[a:b] for uid in uids
                                      for a, b in self.blocks[uid]), END])

    def block(self, uid: str) -> bytes | None:
        """The one VEVENT block of a UID that has only one (None for a series' several)."""
        spans = self.blocks[uid]
        return self.data[spans[0][0]:spans[0][1]] if len(spans) == 1 else None


@dataclass(frozen=True)
class Previous:
    """What the last read of a calendar found: its head's hash, and each UID's hash with
    how many meetings it made in the window (see `entry`); `since`, the end of the window
    it was read in, when the window has moved later since."""

    head: str
    events: Mapping[str, str]
    since: date | None = None

    def kept(self, uids: Iterable[str]) -> int:
        """The meetings `uids` made last time: those an incremental read keeps count."""
        return sum(_count(self.events.get(uid, "")) for uid in uids)


def entry(digest: str, meetings: int) -> str:
    """A UID's entry in `Previous.events`: its hash, and "/n" unless it made one meeting
    (most events do), so a calendar's meeting limit holds across incremental reads."""
    return digest if meetings == 1 else f"{digest}/{meetings}"


def _count(value: str) -> int:
    digest, _slash, count = value.partition("/")
    return int(count) if count.isdigit() else int(bool(digest))


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
                      if previous.events.get(uid, "").partition("/")[0] != digest
                      or uid in moved],
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


def split(data: bytes, codec: str, max_line: int) -> Split | None:
    """`data` (in `codec`, one of ASCII_BASED) split by UID, or None when the scan cannot
    tell its events apart safely and the calendar must be parsed whole: several calendars,
    BEGIN and END lines that don't pair, an event without a plain UID (the parser would
    make one up), a line longer than `max_line` bytes (the whole read refuses it)."""
    first = _FIRST.match(data)
    if first is None or _long_line(data, max_line):
        return None
    if data[first.end():first.end() + 3].lstrip(b"\r\n")[:1] in (b" ", b"\t"):
        return None  # the first line folded: read whole
    if any(found[1].upper() in _PREFIXES for found in _SHORT_FOLD.finditer(data)):
        data = _UNFOLD.sub(b"", data)
        first = _FIRST.match(data)
    assert first is not None  # unfolding keeps the first line (no blank follows it)
    try:
        return _scan(data, first.start(1), first.end(), codec)
    except _Folded:
        data = _UNFOLD.sub(b"", data)
        first = _FIRST.match(data)
        return None if first is None else _scan(data, first.start(1), first.end(), codec)


class _Folded(Exception):
    """A line the scan reads goes on in a folded line: the scan reads the text unfolded."""


def _scan(data: bytes, begins: int, after_first: int, codec: str) -> Split | None:
    """Scan from the end of the first line, BEGIN:VCALENDAR at `begins`."""
    found = Split(data)
    head: list[bytes] = []
    depth, done = 1, begins
    block = -1  # where the open top-level VEVENT began
    names = [b"VCALENDAR"]
    uid = start = b""
    repeats = False
    for line in _LINE.finditer(data, after_first):
        name, value, after = line[1].upper(), line[3], line.end(4)
        if line[5]:
            raise _Folded
        if name == b"BEGIN":
            kind = value.strip().upper()
            if depth == 0 or not _NAME.fullmatch(kind):
                return None  # a second calendar, or a name the parser reads otherwise
            if depth == 1 and kind == b"VEVENT":
                block, uid, start, repeats = line.start() + 1, b"", b"", False
            names.append(kind)
            depth += 1
        elif name == b"END":
            if not names or names.pop() != value.strip().upper():
                return None
            depth -= 1
            if depth == 1 and block >= 0:
                key = uid.decode(codec, errors="replace")
                if not _plain(key):
                    return None
                found.blocks.setdefault(key, []).append((block, after))
                if repeats or len(found.blocks[key]) > 1:
                    found.recurring.add(key)
                    found.starts.pop(key, None)
                else:
                    found.starts[key] = start.decode("ascii", errors="replace")
                head.append(data[done:block])
                done, block = after, -1
            elif depth == 0:
                if data[after:].strip():
                    return None  # something after the calendar: the parser reads it whole
                head.append(data[done:line.start() + 1])
        elif depth == 2 and block >= 0:  # the event's own lines, not its alarms'
            if name == b"UID" and not uid:
                uid = value if line[2] == b":" else b"\\"  # parameters: not plain
            elif name in (b"RRULE", b"RDATE"):
                repeats = True
            elif name == b"DTSTART" and not start:
                start = value.rpartition(b":")[2].strip()[:8]
    if depth:
        return None
    found.head = b"".join(head)
    return found


def _plain(uid: str) -> bool:
    """A UID the parser reads as written: no escapes, no blanks around it, not hashed."""
    return (bool(uid) and "\\" not in uid and uid == uid.strip() and uid.isprintable()
            and len(uid) <= 1000)


def _long_line(data: bytes, limit: int) -> bool:
    """Whether a line is longer than `limit`; each step goes to the last line end within
    reach, so a large body takes a few steps instead of one per line."""
    start = 0
    while len(data) - start > limit:
        start = data.rfind(b"\n", start, start + limit + 1) + 1
        if not start:
            return True
    return False


def codec_name(codec: str) -> str:
    """The canonical name of `codec`, to look up in ASCII_BASED."""
    return codecs.lookup(codec).name

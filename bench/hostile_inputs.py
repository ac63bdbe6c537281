"""The hostile inputs of issue 7, built from the time they run (bench/hostile.py measures them).

Small calendars that cost a worker much, and a server that sends its headers one byte at a time.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

STAMP = "%Y%m%dT%H%M%SZ"
BUYER = "mailto:buyer@prospect.example"
CUSTOM_TZID = "Customized Time Zone"


def calendar(*blocks: list[str]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calsync bench//hostile//EN"]
    for block in blocks:
        lines += block
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


def event(uid: str, start: datetime, *extra: str, tzid: str = "", minutes: int = 30) -> list[str]:
    if tzid:  # floating local times in the named zone
        times = [f"DTSTART;TZID={tzid}:{start:%Y%m%dT%H%M%S}",
                 f"DTEND;TZID={tzid}:{start + timedelta(minutes=minutes):%Y%m%dT%H%M%S}"]
    else:
        times = [f"DTSTART:{start:{STAMP}}",
                 f"DTEND:{start + timedelta(minutes=minutes):{STAMP}}"]
    return ["BEGIN:VEVENT", f"UID:{uid}@bench", *times, f"SUMMARY:{uid}",
            *extra, "END:VEVENT"]


def _zone(tzid: str, *observances: tuple[str, str, str, str]) -> list[str]:
    """A VTIMEZONE of (kind, DTSTART, RRULE or "", offset to) observances."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    previous = observances[-1][3]
    for kind, dtstart, rule, offset in observances:
        lines += [f"BEGIN:{kind}", f"DTSTART:{dtstart}", *([f"RRULE:{rule}"] if rule else []),
                  f"TZOFFSETFROM:{previous}", f"TZOFFSETTO:{offset}", f"END:{kind}"]
        previous = offset
    return [*lines, "END:VTIMEZONE"]


def soon() -> datetime:
    return (datetime.now(UTC) + timedelta(days=7)).replace(hour=10, minute=0, second=0,
                                                           microsecond=0, tzinfo=None)


def plain() -> bytes:
    """The control: one ordinary meeting next week."""
    return calendar(event("plain", soon(), f"ATTENDEE:{BUYER}"))


def zone_rule(freq: str) -> bytes:
    """A ~500-byte calendar whose zone changes offset every hour (or second) since 1601."""
    zone = _zone("Hostile", ("STANDARD", "16010101T000000", f"FREQ={freq}", "+0000"),
                 ("DAYLIGHT", "16010101T000000", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "+0100"))
    return calendar(zone, event("zone", soon(), f"ATTENDEE:{BUYER}", tzid="Hostile"))


def many_observances(count: int = 5000) -> bytes:
    """One zone of `count` STANDARD/DAYLIGHT observances, each with a yearly rule as Outlook
    writes them, and one event using it."""
    observances = [("DAYLIGHT" if n % 2 else "STANDARD",
                    f"{1970 + n % 60}{3 + n % 8:02}01T020000",
                    f"FREQ=YEARLY;BYMONTH={3 + n % 8};BYDAY=-1SU",
                    "+0100" if n % 2 else "+0000") for n in range(count)]
    return calendar(_zone("Crowded", *observances),
                     event("zone", soon(), f"ATTENDEE:{BUYER}", tzid="Crowded"))


def many_zones(count: int = 1000) -> bytes:
    """`count` Outlook-style zones (yearly rules from 1601), each used by one event."""
    zones = [_zone(f"Zone {n}",
                   ("STANDARD", "16011028T030000", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "+0100"),
                   ("DAYLIGHT", "16010325T020000", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "+0200"))
             for n in range(count)]
    return calendar(*zones, *(event(f"zone{n}", soon(), f"ATTENDEE:{BUYER}",
                                      tzid=f"Zone {n}") for n in range(count)))


def attendee_storm(attendees: int = 1000) -> bytes:
    """One ~69 KB event with `attendees` outside people, every minute from yesterday."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    people = [f"ATTENDEE;CN=Buyer {n:04};RSVP=TRUE:mailto:buyer{n:04}@prospect{n % 10}.example"
              for n in range(attendees)]
    return calendar(event("storm", start, "RRULE:FREQ=MINUTELY", *people))


def minutely_flood(series: int = 200) -> bytes:
    """A ~31 KB feed of `series` minutely events that began ten days ago (all promptable)."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=10)
    return calendar(*(event(f"flood{n}", start + timedelta(minutes=n), "RRULE:FREQ=MINUTELY",
                              f"ATTENDEE:mailto:b{n}@p.example")
                       for n in range(series)))


def custom_zone(offset: str) -> bytes:
    """Outlook's "Customized Time Zone", defined as a fixed `offset`, one 10:00 meeting."""
    zone = _zone(CUSTOM_TZID, ("STANDARD", "16010101T000000", "", offset))
    return calendar(zone, event("custom", soon(), f"ATTENDEE:{BUYER}", tzid=CUSTOM_TZID))


@contextlib.contextmanager
def header_dribbler(pause: float = 0.5) -> Iterator[str]:
    """A loopback server answering every request with headers one byte per `pause` seconds,
    forever; yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nX-Pad: "  # then one endless header line
            for n in itertools.count():
                if stop.wait(pause):
                    return
                conn.sendall(head[n:n + 1] or b"a")

    def serve() -> None:
        with contextlib.suppress(OSError):
            while not stop.is_set():
                conn, _ = listener.accept()
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/calendar.ics"
    finally:
        stop.set()
        listener.close()

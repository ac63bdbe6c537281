"""The demo CalDAV server `calsync run` starts: Radicale on loopback with the user "demo" (a
password generated into the instance folder) and a "Sales" calendar of the demo's meetings.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress

from calsync.config import Settings
from calsync.emulator.demo import MEETINGS, ZONE, working_day

log = logging.getLogger(__name__)

USER = "demo"
CALENDAR = "sales"
EMAIL = "demo@caldav-demo.example"


def password(settings: Settings) -> str:
    """The demo account's password, generated once into the server's htpasswd file (which
    the Calendars page reads to connect the account)."""
    users = settings.caldav_demo_folder / "users"
    if not users.exists():
        users.parent.mkdir(parents=True, exist_ok=True)
        # Created readable by its owner alone, never for a moment by anyone else.
        with os.fdopen(os.open(users, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(f"{USER}:{secrets.token_urlsafe(18)}\n")
    return users.read_text().strip().partition(":")[2]


def serve_forever(settings: Settings, port: int) -> None:
    """Run Radicale on 127.0.0.1:`port` until the process is stopped; the Sales calendar and
    its meetings are added once it listens (meetings already there are kept)."""
    import radicale.config
    import radicale.server

    folder = settings.caldav_demo_folder
    secret = password(settings)
    users = folder / "users"
    config = folder / "radicale.conf"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\n"
        f"[storage]\nfilesystem_folder = {folder / 'collections'}\n"
        "[rights]\ntype = owner_only\n[web]\ntype = none\n")
    threading.Thread(target=_seed_when_listening, args=(port, secret), daemon=True).start()
    radicale.server.serve(radicale.config.load([(str(config), False)]))


def _seed_when_listening(port: int, secret: str) -> None:
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        seed(f"http://127.0.0.1:{port}", secret)
    except (OSError, urllib.error.URLError) as error:
        log.warning("caldav demo: the Sales calendar could not be seeded: %s", error)


def seed(base: str, secret: str, now: datetime | None = None) -> None:
    """Make the Sales calendar and put the demo's meetings, placed around `now`, into it."""
    home = f"{base}/{USER}/"
    _request("PROPFIND", home, secret, headers={"Depth": "0"})  # Radicale makes the home
    _request("MKCALENDAR", f"{home}{CALENDAR}/", secret, (
        b'<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:'
        b'ns:caldav"><D:set><D:prop><D:displayname>Sales</D:displayname></D:prop></D:set>'
        b"</C:mkcalendar>"), {"Content-Type": "application/xml"})
    tz = ZoneInfo(ZONE)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    for days, start, minutes, title, guests in MEETINGS:
        day = working_day(today, days)
        # The date in the UID: a later start adds this week's meetings beside older ones.
        uid = f"{day.isoformat()}-{title.split(':')[0].lower().replace(' ', '-')}"
        begins = datetime.combine(day, start, tzinfo=tz).astimezone(UTC)
        event = Event()
        event.add("uid", f"{uid}@caldav-demo.calsync")
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", begins)
        event.add("dtend", begins + timedelta(minutes=minutes))
        event.add("summary", title)
        event.add("organizer", vCalAddress(f"mailto:{EMAIL}"))
        for email in (EMAIL, *guests):
            event.add("attendee", vCalAddress(f"mailto:{email}"), encode=True)
        calendar = Calendar()
        calendar.add("prodid", "-//calsync//caldav demo//EN")
        calendar.add("version", "2.0")
        calendar.add_component(event)
        # If-None-Match: an event already there (perhaps moved by the user) is kept.
        _request("PUT", f"{home}{CALENDAR}/{uid}.ics", secret, calendar.to_ical(),
                 {"Content-Type": "text/calendar", "If-None-Match": "*"})


def _request(method: str, url: str, secret: str, body: bytes = b"",
             headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body or None, method=method,  # noqa: S310
                                     headers=headers or {})
    token = base64.b64encode(f"{USER}:{secret}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as error:  # 405: the calendar exists; 412: so does the event
        if error.code not in (405, 409, 412):
            raise
        return error.code

"""Real CalDAV servers on loopback for the CalDAV tests: Radicale and Xandikos, each with one
user (basic auth) and two calendars, started per test on a free port.

Run as a script (`python caldav_servers.py xandikos DIR PORT USER PASSWORD`) it serves
Xandikos behind basic auth: Xandikos has no logins of its own (it expects a proxy to add
them), and servers in the wild answer a wrong password with 401, which the tests need.
"""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SERVERS = ("radicale", "xandikos")
USER = "ana"
CALENDARS = ("personal", "work")
# Xandikos names a default calendar (schedule-default-calendar-URL); Radicale names none,
# so calsync takes its first calendar by address.
DEFAULT_CALENDAR = {"radicale": "personal", "xandikos": "work"}
# With `running(..., shared=True)` Radicale has one more calendar, shared with ana read-only
# (as iCloud's and Nextcloud's shared calendars are); first by address, so no default.
SHARED = "a-shared"


@dataclass
class CaldavServer:
    """A running server: where it listens, who may log in, and its calendars' addresses."""

    kind: str
    base_url: str  # http://127.0.0.1:PORT/ (answers /.well-known/caldav)
    principal_url: str
    home_url: str
    password: str
    log: Path  # the server's output: one line per request received
    username: str = USER
    calendars: dict[str, str] = field(default_factory=dict)  # name -> collection URL

    def calsync_requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request calsync (by its User-Agent) has sent so far."""
        return [(method, path) for method, path, agent in _REQUEST.findall(self.log.read_text())
                if agent.startswith("calsync/")]

    def request(self, method: str, url: str, body: bytes | str = b"",
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """Another client's request (a phone, a desktop app): status, headers, body."""
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(url, data=data or None, method=method)
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        if data:
            request.add_header("Content-Type", "text/calendar; charset=utf-8")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def put(self, calendar: str, name: str, ics: str) -> str:
        """Store `ics` as `name`.ics in `calendar`; returns its URL."""
        url = f"{self.calendars[calendar]}{name}.ics"
        status, _h, body = self.request("PUT", url, ics)
        assert status in (200, 201, 204), (status, body[:300])
        return url

    def delete(self, url: str) -> None:
        status, _h, body = self.request("DELETE", url)
        assert status in (200, 204), (status, body[:300])

    def get(self, url: str) -> tuple[str, str]:
        """The item's text and ETag."""
        status, headers, body = self.request("GET", url)
        assert status == 200, (status, body[:300])
        return body.decode(), headers.get("ETag", "")

    def items(self, calendar: str) -> list[str]:
        """The names of the objects stored in `calendar`."""
        body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/>'
                "</D:prop></D:propfind>")
        status, _h, answer = self.request("PROPFIND", self.calendars[calendar], body,
                                          {"Depth": "1", "Content-Type": "application/xml"})
        assert status == 207, (status, answer[:300])
        found = re.findall(r"<(?:\w+:)?href>([^<]*\.ics)</(?:\w+:)?href>", answer.decode())
        return sorted(href.rsplit("/", 1)[-1] for href in found)

    def make_calendar(self, name: str) -> str:
        url = f"{self.home_url}{name}/"
        body = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
                f'<D:displayname>{name.title()}</D:displayname></D:prop></D:set>'
                '</C:mkcalendar>')
        status, _h, answer = self.request("MKCALENDAR", url, body,
                                          {"Content-Type": "application/xml"})
        assert status in (201, 405), (status, answer[:300])  # 405: it exists already
        self.calendars[name] = url
        return url


# Radicale's log line for a request at level info; the Xandikos wrapper writes the same.
_REQUEST = re.compile(r"\] (\w+) request for '([^']*)'.*? using '([^']*)'")


def event_text(uid: str, start: datetime, title: str, minutes: int = 30) -> str:
    """One meeting with a customer as a calendar object (times in UTC)."""
    stamp = "%Y%m%dT%H%M%SZ"
    end = start + timedelta(minutes=minutes)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:{start.astimezone(UTC):{stamp}}"
            f"\r\nDTEND:{end.astimezone(UTC):{stamp}}\r\nSUMMARY:{title}\r\n"
            "ATTENDEE;CN=Bo:mailto:bo@customer.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def tomorrow_call(uid: str, hour: int) -> str:
    """A half-hour call with a customer tomorrow at `hour` UTC: inside any sync window."""
    day = (datetime.now(UTC) + timedelta(days=1)).replace(hour=hour, minute=0, second=0,
                                                          microsecond=0)
    return event_text(uid, day, f"Call {uid}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the CalDAV server exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the CalDAV server did not listen within 30 s: {log.read_text()[-2000:]}")


def _start_radicale(root: Path, port: int, password: str,
                    shared: bool) -> tuple[list[str], str, str]:
    (root / "users").write_text(f"{USER}:{password}\n")
    config = root / "radicale.conf"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {root / 'users'}\n"
        "htpasswd_encryption = plain\n"
        f"[storage]\nfilesystem_folder = {root / 'collections'}\n"
        f"[rights]\n{_rights(root, shared)}[logging]\nlevel = info\n"
        "[web]\ntype = none\n")
    command = [sys.executable, "-m", "radicale", "--config", str(config)]
    return command, f"/{USER}/", f"/{USER}/"


def _rights(root: Path, shared: bool) -> str:
    """Radicale's [rights]: the owner's own, or with a read-only SHARED calendar (made on
    disk, as nobody may make it through the server)."""
    if not shared:
        return "type = owner_only\n"
    calendar = root / "collections" / "collection-root" / USER / SHARED
    calendar.mkdir(parents=True)
    (calendar / ".Radicale.props").write_text(json.dumps(
        {"tag": "VCALENDAR", "D:displayname": "Shared"}))
    (root / "rights").write_text(
        f"[shared]\nuser: .+\ncollection: {{user}}/{SHARED}\npermissions: r\n"
        "[own]\nuser: .+\ncollection: {user}(/.*)?\npermissions: RWrw\n"
        "[root]\nuser: .+\ncollection:\npermissions: R\n")
    return f"type = from_file\nfile = {root / 'rights'}\n"


def _start_xandikos(root: Path, port: int, password: str,
                    shared: bool) -> tuple[list[str], str, str]:
    assert not shared, "only Radicale's rights can share a calendar read-only"
    command = [sys.executable, __file__, "xandikos", str(root / "data"), str(port), USER,
               password]
    return command, f"/{USER}/", f"/{USER}/calendars/"


STARTERS: dict[str, Callable[[Path, int, str, bool], tuple[list[str], str, str]]] = {
    "radicale": _start_radicale, "xandikos": _start_xandikos}


def running(kind: str, root: Path, password: str, *,
            shared: bool = False) -> Iterator[CaldavServer]:
    """A fresh `kind` server in `root` with USER (logging in with `password`) and the
    CALENDARS, plus the read-only SHARED one when `shared` (Radicale only); stopped
    afterwards."""
    port = free_port()
    command, principal, home = STARTERS[kind](root, port, password, shared)
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, log)
        base = f"http://127.0.0.1:{port}"
        server = CaldavServer(kind, f"{base}/", f"{base}{principal}", f"{base}{home}",
                              password, log)
        if kind == "radicale":  # Radicale makes the principal's collection on first login
            server.request("PROPFIND", server.principal_url, headers={"Depth": "0"})
        for name in CALENDARS:
            server.make_calendar(name)
        if shared:
            server.calendars[SHARED] = f"{server.home_url}{SHARED}/"
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve_xandikos(directory: str, port: int, user: str, password: str) -> None:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from xandikos.store import STORE_TYPE_SCHEDULE_INBOX
    from xandikos.web import SingleUserFilesystemBackend, XandikosApp

    principal = f"/{user}/"
    backend = SingleUserFilesystemBackend(directory)
    backend._mark_as_principal(principal)
    Path(directory).mkdir(parents=True, exist_ok=True)
    backend.create_principal(principal, create_defaults=False)
    # RFC 6638 names the default calendar on the scheduling inbox.
    owner = backend.get_resource(principal)
    inbox = backend.create_collection(f"{principal}{owner.get_schedule_inbox_url()}")
    inbox.store.set_type(STORE_TYPE_SCHEDULE_INBOX)
    owner.set_schedule_default_calendar_url(f"{principal}calendars/work/")
    app = XandikosApp(backend, current_user_principal=principal)
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        print(f"[INFO] {environ['REQUEST_METHOD']} request for '{environ.get('PATH_INFO')}' "
              f"received using '{environ.get('HTTP_USER_AGENT', '')}'", flush=True)
        if environ.get("PATH_INFO", "").rstrip("/") == "/.well-known/caldav":
            start_response("301 Moved Permanently", [("Location", principal)])
            return [b""]
        if environ.get("HTTP_AUTHORIZATION") != expected:
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="x"')])
            return [b"wrong user name or password"]
        # Xandikos reads the body to its end, and wsgiref's input only ends when the
        # client hangs up: hand it exactly the declared bytes.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
        return app.handle_wsgi_request(environ, start_response)

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    make_server("127.0.0.1", port, guarded, handler_class=Quiet).serve_forever()


if __name__ == "__main__":
    _serve_xandikos(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])

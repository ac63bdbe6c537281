"""No secret in any log line: a real `calsync run` (gunicorn, worker) is sent every route that
carries one, and all it writes (access log, app logs, warnings) is searched for them."""

from __future__ import annotations

import logging
import secrets
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from calsync.logs import LOG_FILE_ENV, Scrubbing, line_formatter
from calsync.logscrub import scrub
from tests import log_capture
from tests.conftest import PASSWORD, csrf_from
from tests.test_cli import CALSYNC, cli_env, run, wait_for  # noqa: F401 - cli_env: a fixture

EMAIL = "rep@acme-sales.com"


class BadHeaders:
    """A feed server whose answer has a header line without a colon: urllib3 then warns
    "Failed to parse headers (url=...)" with the whole URL, query and all."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nEND:VCALENDAR\r\n"
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return  # closed
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\n"
                                   b"this header line has no colon\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


@pytest.fixture
def bad_headers() -> Iterator[BadHeaders]:
    server = BadHeaders()
    yield server
    server.socket.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_calsync_run_writes_no_secret_in_any_log_line(
        cli_env: dict[str, str], tmp_path: Path, bad_headers: BadHeaders) -> None:  # noqa: F811
    assert run(cli_env, "db", "upgrade").returncode == 0
    assert run(cli_env, "users", "create", EMAIL, "--password", PASSWORD).returncode == 0
    api_token = run(cli_env, "tokens", "create", EMAIL).stdout.strip()
    log_file = tmp_path / "calsync.log"
    env = {**cli_env, "CALSYNC_LOG_FORMAT": "json", LOG_FILE_ENV: str(log_file)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen([CALSYNC, "run", "--port", str(port)], env=env,
                                   stdout=stdout, stderr=stderr)
    browser = requests.Session()
    browser.trust_env = False  # loopback, never a proxy
    try:
        # Generous: on a loaded machine gunicorn's workers take a while to import calsync.
        wait_for(lambda: browser.get(base + "/healthz", timeout=10).ok, seconds=180)
        sent = exercise(browser, base, api_token, bad_headers)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    written = out.read_text().splitlines() + err.read_text().splitlines()
    copied = log_file.read_text().splitlines()
    log_capture.append(written)
    assert log_capture.leaks(written + copied, [PASSWORD, *sent]) == []
    # Not vacuous: each route and the warning were logged, in the output and the log file.
    for lines in (written, copied):
        assert any('"GET /feed/[secret].ics' in line for line in lines)
        assert any("/google/callback?state=[secret]&code=[secret]" in line for line in lines)
        assert any('"GET /api/v1/me' in line for line in lines)
        assert any("Failed to parse headers" in line for line in lines)


def exercise(browser: requests.Session, base: str, api_token: str,
             bad_headers: BadHeaders) -> list[str]:
    """Send each route that carries a secret; returns the secrets sent."""
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert browser.get(base + "/api/v1/me", headers=bearer, timeout=10).ok
    feed_url = browser.get(base + "/api/v1/feed", headers=bearer, timeout=10).json()["url"]
    assert browser.get(feed_url, timeout=10).status_code == 200
    page = browser.get(base + "/login", timeout=10).text
    signed_in = browser.post(base + "/login", timeout=10, allow_redirects=False, data={
        "email": EMAIL, "password": PASSWORD, "csrf_token": csrf_from(page)})
    assert signed_in.status_code == 302
    code, state = secrets.token_urlsafe(20), secrets.token_urlsafe(20)
    browser.get(f"{base}/google/callback?state={state}&code={code}", timeout=10,
                allow_redirects=False)
    # A feed whose URL holds its key in the query, served with a header urllib3 warns about.
    key = secrets.token_urlsafe(12)
    created = browser.post(base + "/api/v1/sources", headers=bearer, timeout=10, json={
        "kind": "ics", "url": f"{bad_headers.url}/cal.ics?token={key}"}).json()
    wait_for(lambda: browser.get(f"{base}/api/v1/sources/{created['id']}", headers=bearer,
                                 timeout=10).json()["status"] not in ("new", "syncing"),
             seconds=120)
    return [api_token, feed_url.rsplit("/", 1)[1].removesuffix(".ics"), code, state, key]


def test_scrubbing_formatter_masks_what_a_record_carries_anywhere() -> None:
    """The message, an extra field and a traceback of one record, all scrubbed."""
    try:
        raise ValueError("fetch https://x.example/cal.ics?key=k3y-in-traceback failed")
    except ValueError as error:
        record = logging.LogRecord("calsync.test", logging.WARNING, __file__, 1,
                                   "GET %s", ("/feed/abcDEF123.ics?code=c0de",), (
                                       type(error), error, error.__traceback__))
    record.url = "https://u:pw@x.example/private-0a1b2c3d4e5f60718293a4b5c6d7e8f9/basic.ics"
    for formatter in (line_formatter("json"), line_formatter("text")):
        line = formatter.format(record)
        for secret in ("abcDEF123", "c0de", "k3y-in-traceback", "u:pw", "0a1b2c3d4e5f6071"):
            assert secret not in line, (secret, line)
    assert isinstance(line_formatter("json"), Scrubbing)


@pytest.mark.parametrize(("line", "hidden"), [
    ('"GET /feed/Zm9vYmFyYmF6.ics HTTP/1.1" 200', "Zm9vYmFyYmF6"),
    ('"GET /google/callback?state=s7at3&code=4/0AbC HTTP/1.1" 302', "s7at3"),
    ('"GET /google/callback?state=s7at3&code=4/0AbC HTTP/1.1" 302', "4/0AbC"),
    ('"GET /login?next=%2Ffeed%2FZm9vYmFy.ics HTTP/1.1"', "Zm9vYmFy"),
    ("Failed to parse headers (url=http://h.example/c.ics?token=t0k&x=1)", "t0k"),
    ("Failed to parse headers (url=http://h.example/c.ics?api_key=k3y)", "k3y"),
    ("Authorization: Bearer cs_abcdefghijklmnopqrstuvwxyz012345", "cs_abcdefghij"),
    ("created webhook 3 with whsec_Q2xhcmlmeVRoZVByb21pc2U", "Q2xhcmlmeVRoZVByb21pc2U"),
    ("refreshed ya29.a0AfH6SMBx and 1//0gAbCdEfGhIjKlMnOpQr", "a0AfH6SMBx"),
    ("refreshed ya29.a0AfH6SMBx and 1//0gAbCdEfGhIjKlMnOpQr", "0gAbCdEfGhIjKlMnOpQr"),
    ("{'refresh_token': 'r3fresh', 'client_secret': 'cl13nt'}", "r3fresh"),
    ("{'refresh_token': 'r3fresh', 'client_secret': 'cl13nt'}", "cl13nt"),
    ("email=a%40b.example&password=hunter2", "hunter2"),
    ("/calendar/ical/a%40b.example/private-0a1b2c3d4e5f60718293a4b5c6d7e8f9/basic.ics",
     "0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
])
def test_scrub_hides_each_secret_shape(line: str, hidden: str) -> None:
    assert hidden not in scrub(line)
    assert "[secret]" in scrub(line)
    assert scrub(scrub(line)) == scrub(line)


def test_scrub_keeps_what_is_not_secret() -> None:
    access = '127.0.0.1 - - "GET /deals/12?page=2&status=open HTTP/1.1" 200 5120 "-" "curl/8.5"'
    app = ('{"level": "info", "message": "source 3 synced: +2 ~0 -1", '
           '"request_id": "0123456789abcdef0123456789abcdef", "source_id": 3}')
    for line in (access, app):
        assert scrub(line) == line
    assert scrub("Failed to parse headers (url=http://h.example/c.ics?token=t0k): defect") == (
        "Failed to parse headers (url=http://h.example/c.ics?token=[secret]): defect")

"""The `calsync` command as a script uses it: real processes, stdout for results only."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.services import accounts, sources
from tests import databases
from tests.servers.http_files import FileServer
from tests.servers.processes import stop

CALSYNC = str(Path(sys.executable).parent / "calsync")


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The processes' environment: this test's database, and Redis when the suite has one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALSYNC_", "DATABASE_"))}
    if "CALSYNC_LOG_FILE" in os.environ:  # the test run's log, checked for secrets at its end
        env["CALSYNC_LOG_FILE"] = os.environ["CALSYNC_LOG_FILE"]
    env.update(CALSYNC_INSTANCE_PATH=str(tmp_path / "instance"), SECRET_KEY="cli-test",
               CALSYNC_ALLOW_PRIVATE_URLS="1", DATABASE_URL=database_url,
               CALSYNC_QUEUE_NAME=f"cli-{uuid.uuid4().hex}", CALSYNC_LOG_FORMAT="text")
    env.pop("REDIS_URL", None)
    if databases.REDIS_URL:
        env["REDIS_URL"] = databases.REDIS_URL
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALSYNC, *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_scripted_setup_prints_only_the_token(cli_env: dict[str, str]) -> None:
    assert run(cli_env, "db", "upgrade").returncode == 0
    created = run(cli_env, "users", "create", "Rep@Example.com", "--password", "long enough",
                  "--timezone", "America/Chicago")
    assert created.returncode == 0, created.stderr
    assert created.stdout == ""
    assert "rep@example.com" in created.stderr

    token = run(cli_env, "tokens", "create", "rep@example.com")
    assert token.returncode == 0, token.stderr
    lines = token.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cs_") and len(lines[0]) > 40
    assert lines[0] not in token.stderr


def test_bad_input_gets_a_sentence_and_a_failing_exit(cli_env: dict[str, str]) -> None:
    run(cli_env, "db", "upgrade")
    unknown = run(cli_env, "tokens", "create", "nobody@example.com")
    assert unknown.returncode != 0
    assert "No user with the email nobody@example.com" in unknown.stderr
    assert unknown.stdout == ""

    zone = run(cli_env, "users", "create", "a@example.com", "--password", "long enough",
               "--timezone", "Mars/Olympus")
    assert zone.returncode != 0 and "not a known time zone" in zone.stderr


def test_bad_setting_names_the_variable(cli_env: dict[str, str]) -> None:
    cli_env["CALSYNC_SYNC_INTERVAL_MINUTES"] = "soon"
    result = run(cli_env, "users", "create", "a@example.com", "--password", "long enough")
    assert result.returncode != 0
    assert "CALSYNC_SYNC_INTERVAL_MINUTES" in result.stderr
    assert "Traceback" not in result.stderr


def test_sync_reports_each_source(cli_env: dict[str, str], tmp_path: Path,
                                  http_files: FileServer) -> None:
    run(cli_env, "db", "upgrade")
    run(cli_env, "users", "create", "rep@acme-sales.com", "--password", "long enough")
    good = http_files.serve("/good.ics", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    app = create_app(Settings.from_env(cli_env))
    with app.app_context(), get_db().session() as session:
        user = accounts.user_by_email(session, "rep@acme-sales.com")
        for url in (good, http_files.url("/missing.ics")):
            sources.add_source(session, user, kind="ics", url=url, max_bytes=1000)
        session.commit()
    with app.app_context():
        get_db().dispose()

    result = run(cli_env, "sync", "--user", "rep@acme-sales.com")
    assert result.returncode == 1  # one source failed
    assert "source 1: ok" in result.stderr
    assert "source 2: error" in result.stderr and "404" in result.stderr
    only = run(cli_env, "sync", "--source", "1")
    assert only.returncode == 0 and "source 2" not in only.stderr


def test_run_serves_web_and_worker_until_stopped(cli_env: dict[str, str],
                                                 http_files: FileServer) -> None:
    run(cli_env, "db", "upgrade")
    run(cli_env, "users", "create", "rep@acme-sales.com", "--password", "long enough")
    token = run(cli_env, "tokens", "create", "rep@acme-sales.com").stdout.strip()
    feed = http_files.serve("/w.ics", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([CALSYNC, "run", "--port", str(port)], env=cli_env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: call(base + "/healthz")["status"] == "ok")
        created = call(base + "/api/v1/sources", token, {"kind": "ics", "url": feed})
        # The web process only queues the sync; the worker process must run it.
        wait_for(lambda: call(f"{base}/api/v1/sources/{created['id']}", token)["status"] == "ok")
        assert http_files.requests_to("/w.ics")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0


def call(url: str, token: str = "", body: dict[str, str] | None = None) -> dict[str, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def wait_for(check: Callable[[], bool], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except OSError:
            pass  # not listening yet
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.3)


# --- `calsync run` keeps answering while slow clients hold connections ---

class SlowClients:
    """Clients that send a request one byte at a time, forever, and others that send nothing."""

    def __init__(self, port: int, trickling: int, idle: int, interval: float = 0.3) -> None:
        self.stop = threading.Event()
        self.closed_after: list[float] = []  # seconds until the server closed a trickler
        self.sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
        self.threads = [threading.Thread(target=self._trickle, args=(port, interval),
                                         daemon=True) for _ in range(trickling)]
        for thread in self.threads:
            thread.start()

    def _trickle(self, port: int, interval: float) -> None:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            while not self.stop.is_set():
                byte, request = request[:1] or b"a", request[1:]
                try:
                    sock.sendall(byte)
                    sock.settimeout(interval)
                    if sock.recv(1) == b"":  # the server hung up on us
                        self.closed_after.append(time.monotonic() - started)
                        return
                except TimeoutError:
                    continue  # nothing to read: the server is still waiting for us
                except OSError:
                    self.closed_after.append(time.monotonic() - started)
                    return

    def close(self) -> None:
        self.stop.set()
        for sock in self.sockets:
            sock.close()
        for thread in self.threads:
            thread.join(timeout=5)


def start_run(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**env, "CALSYNC_GOOGLE_API_ENDPOINT": "http://127.0.0.1:9/"}  # no demo emulator
    process = subprocess.Popen([CALSYNC, "run", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: call(f"http://127.0.0.1:{port}/healthz")["status"] == "ok")
    return process, port


def test_healthz_answers_while_slow_clients_hold_connections(cli_env: dict[str, str]) -> None:
    run(cli_env, "db", "upgrade")
    process, port = start_run(cli_env)
    # Six clients trickling requests (four blocked gunicorn's sync workers for a minute)
    # and one that connects and sends nothing: fewer than one worker's eight threads, as
    # the second worker may still be loading the app on a busy machine.
    clients = SlowClients(port, trickling=6, idle=1)
    try:
        time.sleep(1.0)  # every trickler has sent its first bytes and holds a thread
        started = time.monotonic()
        assert call(f"http://127.0.0.1:{port}/healthz")["status"] == "ok"  # 5 s timeout
        assert time.monotonic() - started < 5  # generous: it answers at once
        assert clients.closed_after == []  # the slow ones are still being waited for
    finally:
        clients.close()
        stop(process)


def test_a_request_that_never_ends_is_cut_off(cli_env: dict[str, str]) -> None:
    run(cli_env, "db", "upgrade")
    process, port = start_run({**cli_env, "CALSYNC_WEB_REQUEST_SECONDS": "2"})
    clients = SlowClients(port, trickling=2, idle=0)
    try:
        wait_for(lambda: len(clients.closed_after) == 2, 20)
        assert max(clients.closed_after) < 15  # 2 s allowed, generous for a loaded machine
    finally:
        clients.close()
        stop(process)


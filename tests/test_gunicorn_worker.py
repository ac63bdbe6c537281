"""calsync's gunicorn worker (calsync.gunicorn_conf.DeadlineThreadWorker) over loopback: kept-alive
connections served by the thread that answered them, the request deadline, threads shared."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.processes import stop

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
ANSWER = b"ok"  # tests/servers/thread_app.py's body, the end of each response


@pytest.fixture
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    """gunicorn with calsync's settings and one worker, serving tests/servers/thread_app.py,
    with the environment variables a test gives by parametrizing this fixture."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    env = {**os.environ, **getattr(request, "param", {})}
    process = subprocess.Popen(
        [GUNICORN, "-c", "python:calsync.gunicorn_conf", "--workers", "1",
         "--bind", f"127.0.0.1:{free}", "tests.servers.thread_app:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_up(free)
        yield free
    finally:
        stop(process)


def _wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _answered(sock: socket.socket) -> bytes:
    """One response's bytes (thread_app's are small and end with its body)."""
    received = b""
    while not received.endswith(ANSWER):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {received!r}")
        received += chunk
    return received


def test_requests_sent_together_are_each_answered(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(REQUEST * 3)
        received = b""
        while received.count(b"\r\n\r\n" + ANSWER) < 3:
            chunk = sock.recv(4096)
            assert chunk, received
            received += chunk
        assert received.count(b"HTTP/1.1 200 OK") == 3
        sock.sendall(REQUEST)  # and the connection is still served afterwards
        assert _answered(sock).startswith(b"HTTP/1.1 200 OK")


@pytest.mark.parametrize("port", [{"CALSYNC_WEB_REQUEST_SECONDS": "1"}], indirect=True)
def test_each_request_on_a_kept_alive_connection_gets_its_own_deadline(port: int) -> None:
    # Requests back to back for longer than one deadline: each is sent at once, so none
    # is cut off, however long the connection lives.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        began = time.monotonic()
        while time.monotonic() - began < 2.5:
            sock.sendall(REQUEST)
            assert _answered(sock).startswith(b"HTTP/1.1 200 OK")


@pytest.mark.parametrize("port", [{"CALSYNC_WEB_REQUEST_SECONDS": "1"}], indirect=True)
def test_a_request_trickled_after_an_answer_is_cut_off_at_its_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(REQUEST)
        _answered(sock)
        began = time.monotonic()
        sock.settimeout(0.2)
        for byte in REQUEST[:-2]:  # never ends its head
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        assert time.monotonic() - began < 5  # 1 s allowed, generous for a loaded machine


@pytest.mark.parametrize("port", [{"CALSYNC_WEB_THREADS": "1"}], indirect=True)
def test_a_busy_connection_does_not_keep_the_only_thread_from_another(port: int) -> None:
    stop_busy = threading.Event()

    def busy() -> None:  # a client sending its next request the moment it has an answer
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            while not stop_busy.is_set():
                sock.sendall(REQUEST)
                _answered(sock)

    client = threading.Thread(target=busy, daemon=True)
    client.start()
    try:
        time.sleep(0.3)  # the busy client has the thread
        began = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.read() == ANSWER
        assert time.monotonic() - began < 1.0
    finally:
        stop_busy.set()
        client.join(timeout=10)

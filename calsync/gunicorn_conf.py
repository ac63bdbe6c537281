"""gunicorn's settings for calsync's web process (`gunicorn -c python:calsync.gunicorn_conf`),
used by `calsync run` and the Procfile: threaded workers that slow clients can't all hold.

gunicorn's default sync workers serve one connection each, so a handful of clients sending
their requests one byte at a time stop the site. Here each worker has CALSYNC_WEB_THREADS
threads, a connection that sends nothing is parked without a thread (gthread does that),
and a request must arrive whole within CALSYNC_WEB_REQUEST_SECONDS or its connection is
closed, so a trickling client holds one thread for that long at most. In production put a
buffering reverse proxy in front as well (see the README, "In front of gunicorn").
"""

from __future__ import annotations

import math
import socket
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from calsync.config import Settings

_settings = Settings.from_env()

worker_class = "calsync.gunicorn_conf.DeadlineThreadWorker"
threads = _settings.web_threads
timeout = 30  # gthread's heartbeat: a worker whose main loop stalls this long is replaced
# gunicorn's control socket sits at one path per user ($HOME/.gunicorn/gunicorn.ctl), which
# two instances on one machine would fight over; calsync doesn't use it.
control_socket_disable = True


class _DeadlineSocket:
    """A client socket whose reads end, as if the client had left, at its request deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline = math.inf

    def recv(self, size: int, *flags: int) -> bytes:
        left = self.deadline - time.monotonic()
        if left <= 0:
            return b""
        previous = self._sock.gettimeout()
        self._sock.settimeout(min(left, 3600.0))
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            return b""  # the parser then drops the connection as a client that went away
        finally:
            self._sock.settimeout(previous)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DeadlineThreadWorker(ThreadWorker):
    """gthread, with a deadline for reading each request (head and body)."""

    def enqueue_req(self, conn: Any) -> None:
        # Called for every request a connection starts: new, kept alive, or parked.
        if not self.cfg.is_ssl:  # TLS wraps the real socket; calsync leaves TLS to a proxy
            if not isinstance(conn.sock, _DeadlineSocket):
                conn.sock = _DeadlineSocket(conn.sock)
            conn.sock.deadline = time.monotonic() + _settings.web_request_seconds
        super().enqueue_req(conn)

"""gunicorn's settings for calsync's web process (`gunicorn -c python:calsync.gunicorn_conf`,
used by `calsync run` and the Procfile): threaded workers with a deadline for each request."""

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
    """gthread, with a deadline for reading each request (head and body).

    gunicorn's default sync workers serve one connection each, so a handful of clients
    sending their requests one byte at a time stop the site. gthread gives each worker
    CALSYNC_WEB_THREADS threads and parks a connection that sends nothing without one;
    this deadline means a client that trickles its request holds a thread for
    CALSYNC_WEB_REQUEST_SECONDS at most. In production a buffering reverse proxy goes in
    front as well (README, "In front of gunicorn").
    """

    def enqueue_req(self, conn: Any) -> None:
        # Called for every request a connection starts: new, kept alive, or parked.
        if not self.cfg.is_ssl:  # TLS wraps the real socket; calsync leaves TLS to a proxy
            if not isinstance(conn.sock, _DeadlineSocket):
                conn.sock = _DeadlineSocket(conn.sock)
            conn.sock.deadline = time.monotonic() + _settings.web_request_seconds
        super().enqueue_req(conn)

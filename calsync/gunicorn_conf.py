"""gunicorn's settings for calsync's web process (`gunicorn -c python:calsync.gunicorn_conf`,
used by `calsync run` and the Procfile): threaded workers with a deadline for each request."""

from __future__ import annotations

import math
import select
import socket
import threading
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
# How long a thread that has answered on a kept-alive connection waits there for the client's
# next request before handing the connection back to the poller (DeadlineThreadWorker).
NEXT_REQUEST_WAIT_MS = 2


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
    """gthread, with a deadline for reading each request (head and body), and a thread that
    stays with a kept-alive connection whose client sends its next request at once.

    gunicorn's default sync workers serve one connection each, so a handful of clients
    sending their requests one byte at a time stop the site. gthread gives each worker
    CALSYNC_WEB_THREADS threads and parks a connection that sends nothing without one;
    this deadline means a client that trickles its request holds a thread for
    CALSYNC_WEB_REQUEST_SECONDS at most. In production a buffering reverse proxy goes in
    front as well (README, "In front of gunicorn").

    gthread hands a kept-alive connection back to its main thread after every response, and
    the main thread's poller hands the next request to a pool thread again: two handoffs
    between threads per request, which cost more than answering a feed poll. A next request
    that comes within NEXT_REQUEST_WAIT_MS is read by the same thread instead, as long as no
    connection is waiting for a thread meanwhile.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_hand = 0  # connections given to the thread pool and not yet handed back
        self.in_hand_lock = threading.Lock()

    def enqueue_req(self, conn: Any) -> None:
        # Called for every request a connection starts: new, kept alive, or parked.
        _start_deadline(conn, self.cfg.is_ssl)
        with self.in_hand_lock:
            self.in_hand += 1
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        """gthread's handle() for each request the client sends while this thread waits."""
        try:
            keepalive = super().handle(conn)
            while keepalive is True and self.alive and self._next_request_soon(conn):
                _start_deadline(conn, self.cfg.is_ssl)
                keepalive = super().handle(conn)
            return keepalive
        finally:
            with self.in_hand_lock:
                self.in_hand -= 1

    def _next_request_soon(self, conn: Any) -> bool:
        """Whether the client's next request started within NEXT_REQUEST_WAIT_MS, waited for
        only while every connection given to the pool has a thread (none waits for this one)."""
        if self.in_hand > self.cfg.threads:
            return False
        if conn.parser.unreader.buf.getvalue():  # read ahead with the last request's body
            return True
        poll = select.poll()
        poll.register(conn.sock.fileno(), select.POLLIN)
        return bool(poll.poll(NEXT_REQUEST_WAIT_MS))


def _start_deadline(conn: Any, is_ssl: bool) -> None:
    """The connection's reads end CALSYNC_WEB_REQUEST_SECONDS from now."""
    if is_ssl:  # TLS wraps the real socket; calsync leaves TLS to a proxy
        return
    if not isinstance(conn.sock, _DeadlineSocket):
        conn.sock = _DeadlineSocket(conn.sock)
    conn.sock.deadline = time.monotonic() + _settings.web_request_seconds

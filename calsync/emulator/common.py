"""What every emulator shares: a threaded loopback server (plain or TLS), the controls a
test drives any OAuth service's emulator with, OAuth helpers (base64url, PKCE, redirects)
and a worker that delivers webhooks in order."""

from __future__ import annotations

import base64
import hashlib
import queue
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from calsync.emulator.state import AuthState, Client, LoggedRequest

Job = TypeVar("Job")
Sent = TypeVar("Sent")
World = TypeVar("World", bound=AuthState)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read the emulator's own request log; an access log would only add noise."""


class LoopbackServer:
    """A context manager serving `self.app` on a thread: started on enter, stopped on exit.
    Subclasses set `app` (a WSGI callable) and may hook `_started` / `_stopped`."""

    scheme = "http"
    thread_name = "emulator"

    def __init__(self, port: int, host: str, quiet: bool) -> None:
        self.host = host
        self.port = port
        self.quiet = quiet
        self.app: WsgiApp | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server's TLS context; None serves plain HTTP."""
        return None

    def start(self) -> Self:
        if self.app is None:
            raise RuntimeError("Set the emulator's app before starting it.")
        handler = QuietHandler if self.quiet else None
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=handler, ssl_context=self.ssl_context())
        self.port = self._server.server_port
        self._started()
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05),
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._stopped()

    def _started(self) -> None:
        """Called once the port is known, before the first request is served."""

    def _stopped(self) -> None:
        """Called after the server has stopped."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("The emulator has no port until it is started.")
        return f"{self.scheme}://{self.host}:{self.port}"


class OAuthEmulator(LoopbackServer, Generic[World]):
    """A loopback server for an OAuth service's emulator, with what a test does to any of
    them: register a client, revoke a grant, expire tokens, arm faults, slow answers down,
    read the requests answered. Subclasses set `state`, their world."""

    state: World

    def add_client(self, client_id: str, client_secret: str,
                   redirect_uris: list[str] | None = None) -> None:
        """Register an OAuth client; `redirect_uris=None` accepts any redirect URI."""
        with self.state.lock:
            uris = frozenset(redirect_uris) if redirect_uris is not None else None
            self.state.clients[client_id] = Client(client_id, client_secret, uris)

    def revoke_grant(self, email: str) -> None:
        """The user removed access: refresh gives invalid_grant, the API answers 401."""
        with self.state.lock:
            for grant in self.state.grants.values():
                if grant.email == email.lower():
                    grant.revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now (refresh tokens stay valid)."""
        with self.state.lock:
            for token in self.state.access_tokens.values():
                token.expires_at = 0.0

    def reset_faults(self) -> None:
        """No armed faults and no delay any more."""
        with self.state.lock:
            self.state.faults.clear()
            self.state.delay = 0.0

    def slow(self, seconds: float) -> None:
        """Delay every answer by `seconds` (0 to stop)."""
        with self.state.lock:
            self.state.delay = seconds

    @property
    def requests(self) -> list[LoggedRequest]:
        with self.state.lock:
            return list(self.state.log)


class Courier(Generic[Job]):
    """One worker thread that performs queued deliveries in order, off the request thread
    (so, as with the real services, a notification may arrive before the call that caused
    it has returned)."""

    def __init__(self, name: str, deliver: Callable[[Job], None]) -> None:
        self._name = name
        self._deliver = deliver
        self._queue: queue.Queue[tuple[Job] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=timeout)
            self._thread = None

    def put(self, job: Job) -> None:
        self._queue.put((job,))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            self._deliver(item[0])


class WebhookSender(Generic[Job, Sent]):
    """What sends an emulator's webhooks: a courier delivering them in order, an HTTP
    session that never goes through a proxy, and the record of what was sent, to wait on.
    Subclasses deliver a job in `_deliver` and `_record` what became of it."""

    def __init__(self, thread_name: str, timeout: float) -> None:
        self.timeout = timeout  # seconds a delivery may take
        self.sent: list[Sent] = []
        self.delivered = threading.Condition()
        self._session = requests.Session()
        self._session.trust_env = False  # loopback receivers must not go through a proxy
        self._courier: Courier[Job] = Courier(thread_name, self._deliver)

    def start(self) -> None:
        self._courier.start()

    def stop(self) -> None:
        self._courier.stop(timeout=self.timeout + 1)
        self._session.close()

    def _deliver(self, job: Job) -> None:
        raise NotImplementedError

    def _record(self, sent: Sent) -> None:
        with self.delivered:
            self.sent.append(sent)
            self.delivered.notify_all()

    def so_far(self) -> list[Sent]:
        with self.delivered:
            return list(self.sent)

    def wait(self, count: int, timeout: float) -> list[Sent]:
        """What was sent so far, once at least `count` were (or when `timeout` passes)."""
        with self.delivered:
            self.delivered.wait_for(lambda: len(self.sent) >= count, timeout=timeout)
            return list(self.sent)


def serve_until_interrupted() -> None:
    """Keep a foreground emulator (`serve_forever`) running until Ctrl-C."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs and PKCE write it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    """Whether `verifier` answers the PKCE `challenge` (RFC 7636), compared in constant time."""
    derived = b64url(hashlib.sha256(verifier.encode()).digest()) if method == "S256" else verifier
    return secrets.compare_digest(derived, challenge)


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query string."""
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


def redirect(url: str) -> Response:
    return Response("", status=302, headers={"Location": url})

"""urllib3 connections for user-supplied URLs: resolved once, checked before connecting, and
cut off at their fetch's wall-clock deadline."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
import time
from typing import Any

from urllib3 import Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from calsync.net.addresses import is_public_address

AddressInfo = tuple[Any, ...]  # one getaddrinfo row: family, type, proto, name, sockaddr
CONNECT_SECONDS = 10.0  # most one address may take to accept before the next is tried


class RefusedAddress(Exception):
    """Raised, before any connection is made, when a host resolves to a non-public address."""

    def __init__(self, shown: str) -> None:
        super().__init__(shown)
        self.shown = shown  # "10.0.0.7", or "localhost is 127.0.0.1"


class Exchange:
    """One fetch, across all its redirect hops: its deadline and whether addresses are guarded
    (`exempt`: one literal host and port let through, the bundled demo CalDAV server)."""

    def __init__(self, seconds: float, *, guard: bool,
                 exempt: tuple[str, int] | None = None) -> None:
        self.deadline = time.monotonic() + seconds
        self.guard = guard
        self.exempt = exempt
        self.cut = False  # a watchdog shut a socket down at the deadline

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.cut or self.remaining() <= 0

    def timeout(self) -> Timeout:
        """urllib3's per-operation timeouts, from what is left (the watchdog is the hard stop)."""
        left = max(self.remaining(), 0.01)
        return Timeout(connect=min(left, CONNECT_SECONDS), read=left)

    def pool(self, scheme: str, host: str, port: int | None) -> HTTPConnectionPool:
        """A one-connection pool for one hop, whose connection obeys this exchange."""
        cls = _BoundedHTTPSPool if scheme == "https" else _BoundedHTTPPool
        return cls(host, port, maxsize=1, retries=False, exchange=self)


class _Watchdog:
    """Shuts a connected socket down at the deadline, whatever call is blocked on it.

    It holds a duplicate of the socket's descriptor: shutdown reaches the same socket (and
    any TLS layer on it) while the original may be closed at any moment, and the duplicate
    can't be recycled into an unrelated socket before the watchdog lets go of it.
    """

    def __init__(self, sock: socket.socket, exchange: Exchange) -> None:
        self._dup: socket.socket | None = sock.dup()
        self._exchange = exchange
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(exchange.remaining(), 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._dup is None:
                return
            self._exchange.cut = True
            with contextlib.suppress(OSError):  # the peer may have closed it already
                self._dup.shutdown(socket.SHUT_RDWR)
            self._dup.close()
            self._dup = None

    def disarm(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._dup is not None:
                self._dup.close()
                self._dup = None


class _Bounded:
    """Mixin for urllib3's connections: resolve, check and connect within the exchange.

    The host is resolved once (on a thread that can be abandoned: getaddrinfo has no
    timeout); a non-public address refuses the fetch before anything is connected, so no
    answer depends on whether a port there is open; only checked addresses are connected
    to (no second lookup to rebind); and a watchdog shuts the socket at the deadline, so
    no server stretches the exchange by trickling bytes: TLS handshake, headers and body.
    """

    host: str
    port: int
    timeout: float | None
    socket_options: Any

    def __init__(self, *args: Any, exchange: Exchange, **kwargs: Any) -> None:
        self._exchange = exchange
        self._watchdog: _Watchdog | None = None
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        infos = self._checked_addresses()
        last: OSError = OSError("no address")
        for family, kind, proto, _name, sockaddr in infos:
            left = self._exchange.remaining()
            if left <= 0:
                break
            sock = socket.socket(family, kind, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(min(left, self.timeout or CONNECT_SECONDS))
                sock.connect(sockaddr)
            except OSError as error:
                sock.close()
                last = error
                continue
            self._watchdog = _Watchdog(sock, self._exchange)
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        if isinstance(last, TimeoutError) or self._exchange.expired:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.")
        # A mixin is no HTTPConnection to mypy; every class using it is one at run time.
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")  # type: ignore[arg-type]

    def _checked_addresses(self) -> list[AddressInfo]:
        try:
            infos = resolve(self.host, self.port, self._exchange.remaining())
        except TimeoutError as error:
            raise ConnectTimeoutError(self, f"Resolving {self.host} timed out.") from error
        except (OSError, UnicodeError) as error:
            # `self` is an HTTPConnection at run time (see _new_conn); and the reason, typed
            # as a gaierror, may be any OSError or UnicodeError: urllib3 only formats it.
            raise NameResolutionError(self.host, self, error) from error  # type: ignore[arg-type]
        # The exemption names a literal address, so no lookup can rebind it elsewhere.
        if self._exchange.guard and (self.host, self.port) != self._exchange.exempt:
            for info in infos:
                address = str(info[4][0])
                if not is_public_address(address):
                    host = self.host.strip("[]")
                    raise RefusedAddress(address if address == host else f"{host} is {address}")
        return infos

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.disarm()
            self._watchdog = None
        # A mixin's super() is the connection class it is mixed into; mypy only knows object.
        super().close()  # type: ignore[misc]


def resolve(host: str, port: int, seconds: float) -> list[AddressInfo]:
    """getaddrinfo, given up on after `seconds` (the lookup thread then ends on its own)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:  # a literal address needs no lookup
        return socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    outcome: list[Any] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as error:  # handed back to the waiting thread
            outcome.append(error)
        done.set()

    threading.Thread(target=lookup, name="resolve", daemon=True).start()
    if not done.wait(max(seconds, 0.0)):
        raise TimeoutError(f"resolving {host} took longer than the fetch may last")
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return list(outcome[0])


class _BoundedHTTPConnection(_Bounded, HTTPConnection):
    pass


class _BoundedHTTPSConnection(_Bounded, HTTPSConnection):
    pass


class _BoundedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _BoundedHTTPConnection


class _BoundedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _BoundedHTTPSConnection

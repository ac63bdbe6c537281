"""A real loopback TCP server that answers every connection slowly: one byte at a time.

    with SlowServer(b"HTTP/1.1 200 OK\\r\\nX-Drip: ") as server:   # then b"x" forever
        fetch(server.url("/cal.ics"), settings)

It reads the request's head, sends `prefix` one byte per `interval`, then keeps sending
`filler` bytes (forever when `filler` is set) until the client hangs up or the server
closes: a response whose headers never end, or a TLS record that never completes.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from types import TracebackType


class SlowServer:
    """Trickles `prefix` (then `filler` forever, when given) to every client it accepts."""

    def __init__(self, prefix: bytes, filler: bytes = b"x", interval: float = 0.05,
                 read_request: bool = True) -> None:
        self.prefix = prefix
        self.filler = filler
        self.interval = interval
        self.read_request = read_request
        self.connections = 0  # accepted so far
        self.active = 0  # still being trickled to
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._clients: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            for client in self._clients:
                with contextlib.suppress(OSError):
                    client.close()

    def __enter__(self) -> SlowServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self.active += 1
                self._clients.append(client)
            threading.Thread(target=self._trickle, args=(client,), daemon=True).start()

    def _trickle(self, client: socket.socket) -> None:
        try:
            if self.read_request:
                _read_head(client)
            for byte in _bytes(self.prefix, self.filler):
                client.sendall(byte)
                if self._closing.wait(self.interval):
                    return
        except OSError:
            pass  # the client gave up: what the tests want
        finally:
            with self._lock:
                self.active -= 1
            with contextlib.suppress(OSError):
                client.close()


def _bytes(prefix: bytes, filler: bytes) -> Iterator[bytes]:
    for value in prefix:
        yield bytes([value])
    while filler:
        for value in filler:
            yield bytes([value])


def _read_head(client: socket.socket) -> None:
    """Read until the blank line that ends a request's head (or the client stops)."""
    client.settimeout(10)
    seen = b""
    while b"\r\n\r\n" not in seen:
        chunk = client.recv(4096)
        if not chunk:
            return
        seen += chunk

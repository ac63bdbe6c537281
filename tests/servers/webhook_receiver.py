"""A CRM's webhook endpoint on loopback: verifies every delivery's signature as the README
tells receivers to (HMAC-SHA256 of "<t>.<body>", t at most 5 minutes old) and records what
arrived. It can fail (500) or hang (never answer in time), then come back.

    with Receiver() as receiver:
        receiver.secret = created["secret"]
        ...  # deliveries arrive in receiver.received (verified, answered 2xx)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

TOLERANCE_SECONDS = 300


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> str | None:
    """None when `header` signs `body` with `secret` within the tolerance, else why not:
    the README's verification, word for word."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return f"malformed signature header {header!r}"
    if abs((now or time.time()) - int(parts["t"])) > TOLERANCE_SECONDS:
        return "signature too old"
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, parts["v1"]) else "signature does not match"


@dataclass
class Arrival:
    """One request: its parsed body, its signature header, and what the receiver answered."""

    event: dict[str, Any]
    signature: str
    answered: int | None  # None: it hung until the sender gave up


@dataclass
class Receiver:
    mode: str = "ok"  # "ok" (204), "fail" (500) or "hang" (no answer till released)
    secret: str = ""
    arrivals: list[Arrival] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # bad signatures, wrong content type
    _release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.check(self.headers.get("Content-Type", ""),
                               self.headers.get("Calsync-Signature", ""), body)
                arrival = Arrival(json.loads(body), self.headers.get("Calsync-Signature", ""),
                                  None)
                receiver.arrivals.append(arrival)
                if receiver.mode == "hang":
                    receiver._release.wait(30)
                    return  # the sender hung up long ago
                arrival.answered = 500 if receiver.mode == "fail" else 204
                self.send_response(arrival.answered)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads `arrivals`, not stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def check(self, content_type: str, header: str, body: bytes) -> None:
        if content_type != "application/json":
            self.problems.append(f"Content-Type {content_type!r}")
        problem = verify(self.secret, header, body)
        if problem:
            self.problems.append(problem)

    def url(self, path: str = "/hooks/calsync") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    @property
    def received(self) -> list[dict[str, Any]]:
        """The events answered 2xx, in order of arrival."""
        return [a.event for a in self.arrivals if a.answered is not None and a.answered < 300]

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

"""A Microsoft Graph webhook endpoint on loopback, written as Microsoft tells subscribers
to: a POST with `?validationToken=` is answered with the decoded token as text/plain; any
other POST is a notification collection, recorded with whether its clientState matched.
It can also echo a wrong token or refuse (500), to see a subscription fail validation.

    with GraphReceiver(client_state="s3cret") as receiver:
        ...  # receiver.url("/hooks/microsoft"); receiver.notifications
"""

from __future__ import annotations

import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class GraphReceiver:
    client_state: str = ""
    mode: str = "ok"  # "ok", "wrong-token" (echo something else) or "refuse" (500)
    validations: list[str] = field(default_factory=list)  # decoded tokens, in order
    notifications: list[dict[str, Any]] = field(default_factory=list)  # each changeNotification
    forged: list[dict[str, Any]] = field(default_factory=list)  # clientState did not match
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "validationToken" in query:
                    self._validation(query["validationToken"][0])
                    return
                receiver.record(json.loads(body))
                self._answer(202, b"", "text/plain")

            def _validation(self, token: str) -> None:
                with receiver.arrived:
                    receiver.validations.append(token)
                    receiver.arrived.notify_all()
                if receiver.mode == "refuse":
                    self._answer(500, b"", "text/plain")
                    return
                echoed = token if receiver.mode == "ok" else token[::-1]
                self._answer(200, echoed.encode(), "text/plain; charset=utf-8")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads what arrived, not stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def record(self, collection: dict[str, Any]) -> None:
        with self.arrived:
            for item in collection.get("value", []):
                matches = hmac.compare_digest(str(item.get("clientState", "")),
                                              self.client_state)
                (self.notifications if matches else self.forged).append(item)
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The notifications so far, once there are at least `count` (or on timeout)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.notifications) >= count, timeout=timeout)
            return list(self.notifications)

    def url(self, path: str = "/hooks/microsoft") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> GraphReceiver:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

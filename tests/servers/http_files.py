"""A real threaded HTTP server on 127.0.0.1 that serves bodies the test chooses.

    with FileServer() as server:
        server.serve("/cal.ics", body, etag='"v1"')
        url = server.url("/cal.ics")
        ...
        assert server.requests[-1].headers["If-None-Match"] == '"v1"'

Each route can set status, headers, ETag/Last-Modified (answered with 304 when the
request's validators match), a delay before the body, a trickled or huge body, or a redirect.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/calendar; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""
    delay: float = 0.0  # seconds to wait after the headers, before the body
    trickle: float = 0.0  # seconds between body chunks
    chunk_size: int = 64 * 1024
    repeat: int = 1  # the body is sent this many times (a huge body without the memory)
    send_length: bool = True  # False: no Content-Length, the body ends when the socket closes


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


class FileServer:
    """Serves `Route`s by path; records every request in `requests`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(self, path: str, body: bytes | str = b"", **options: Any) -> str:
        """Serve `body` at `path` (options: the fields of Route); returns the full URL."""
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)
        return self.url(path)

    def redirect(self, path: str, to_url: str, status: int = 302) -> str:
        return self.serve(path, b"", status=status, headers={"Location": to_url},
                          content_type="text/plain")

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self._closing.set()  # wakes handlers that are delaying or trickling
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FileServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _chunks(self, route: Route) -> Iterator[bytes]:
        for _ in range(route.repeat):
            for start in range(0, max(len(route.body), 1), route.chunk_size):
                yield route.body[start:start + route.chunk_size]


def _handler_for(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            # The client may give up mid-body: that is what timeout and size tests do.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer()

        def _answer(self) -> None:
            server.requests.append(RecordedRequest("GET", self.path, dict(self.headers)))
            route = server.routes.get(self.path)
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if _not_modified(route, self.headers):
                self.send_response(304)
                self._validators(route)
                self.end_headers()
                return
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            if route.send_length:
                self.send_header("Content-Length", str(len(route.body) * route.repeat))
            self._validators(route)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if route.delay and server._closing.wait(route.delay):
                return
            for chunk in server._chunks(route):
                self.wfile.write(chunk)
                self.wfile.flush()
                if route.trickle and server._closing.wait(route.trickle):
                    return

        def _validators(self, route: Route) -> None:
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


def _not_modified(route: Route, headers: Mapping[str, str]) -> bool:
    if route.etag and headers.get("If-None-Match") == route.etag:
        return True
    return bool(route.last_modified and headers.get("If-Modified-Since") == route.last_modified)

"""calsync served on a real loopback port, for callers that aren't the Flask test client:
the Google emulator's push notifications, a headless browser."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The tests read what arrived from the database, not from an access log."""


class LiveServer:
    """calsync on 127.0.0.1: the port is bound first (settings need BASE_URL), the app
    plugged in once it exists."""

    def __init__(self) -> None:
        self.app: Flask | None = None
        self.busy = 0
        self.idle = threading.Condition()
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, self._dispatch,
                                                  threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "the live server got a request before its app"
        with self.idle:
            self.busy += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self.idle:
                self.busy -= 1
                self.idle.notify_all()

    def serve(self, app: Flask) -> None:
        self.app = app
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
        with self.idle:  # requests still running hold database connections
            self.idle.wait_for(lambda: self.busy == 0, timeout=10)

"""Structured logs: one JSON object per line, with the id of the web request that wrote it.

Processes call `configure` once at start (the CLI, the WSGI module); apps add request ids.
Every line written (ours, gunicorn's access log, warnings) is scrubbed of secrets first.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from gunicorn import glogging

from calsync.logscrub import scrub

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Declared as a setting in calsync.config; read here because logging starts before settings.
LOG_FILE_ENV = "CALSYNC_LOG_FILE"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


class Scrubbing(logging.Formatter):
    """Another formatter's line with every secret replaced (calsync.logscrub): the finished
    line, so a secret in a message, an extra field or a traceback is caught alike."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return scrub(self.inner.format(record))


def line_formatter(log_format: str) -> Scrubbing:
    """The formatter of every calsync log line: json or text, scrubbed."""
    return Scrubbing(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))


def log_file() -> str:
    """CALSYNC_LOG_FILE: a file every process appends its log lines to, besides stderr."""
    return os.environ.get(LOG_FILE_ENV, "")


def configure(log_format: str, level: str = "INFO") -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file():
        handlers.append(logging.FileHandler(log_file(), encoding="utf-8"))
    for handler in handlers:
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(line_formatter(log_format))
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    # Warnings become log lines, scrubbed like the rest (urllib3's can carry a feed URL).
    logging.captureWarnings(True)


class GunicornLogger(glogging.Logger):
    """gunicorn's error and access logs, scrubbed like calsync's own (the access log's request
    line carries feed tokens and OAuth codes), and copied to CALSYNC_LOG_FILE when set.

    Used as `gunicorn --logger-class calsync.logs.GunicornLogger` (the Procfile, `calsync run`).
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)  # drops the handlers marked _gunicorn, so a reload starts afresh
        for log in (self.error_log, self.access_log):
            if log_file():
                copy = logging.FileHandler(log_file(), encoding="utf-8")
                copy.setFormatter(logging.Formatter(TEXT_FORMAT))
                # gunicorn's own mark for its handlers (a Handler declares no such field).
                copy._gunicorn = True  # type: ignore[attr-defined]
                log.addHandler(copy)
            for handler in log.handlers:
                if not isinstance(handler.formatter, Scrubbing):
                    handler.setFormatter(Scrubbing(handler.formatter or logging.Formatter()))


def request_id(given: str) -> str:
    """A request's id: the caller's X-Request-ID when it is sane, else a new one."""
    return given if _SAFE_ID.match(given) else uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """Every request gets an id (the caller's X-Request-ID if sane), echoed in the response."""

    @app.before_request
    def assign_request_id() -> None:
        g.request_id = request_id(request.headers.get("X-Request-ID", ""))

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response

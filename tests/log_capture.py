"""Every log line a test run writes, in one file, checked for secrets when the run ends.

tests/conftest.py installs `SessionLog` on the root logger (calsync's own scrubbing line
formatter, as in production) and names the file in CALSYNC_LOG_FILE, which calsync processes
that tests start (`calsync run`, workers) honour: their lines land in the same file.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from calsync.logs import LOG_FILE_ENV, line_formatter

# The shapes of secrets no log line may hold (a "[secret]" in their place is the scrubbed form).
SECRET_SHAPES = (
    re.compile(r"/feed/(?!\[secret\])[^/\s?#\"'\\]+\.ics"),  # a feed address with its token
    re.compile(r"(?i)[?&](?:code|state|token|password)=(?!\[secret\])[^&\s\"'\\]+"),
    re.compile(r"(?i)\bbearer\s+(?!\[secret\])[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"/[au]/(?!\[secret\])[\w-]+\.[\w-]+"),  # an answer or unsubscribe link
    re.compile(r"\bcs_[A-Za-z0-9_-]{16,}"),  # a calsync API token
    re.compile(r"\bwhsec_[A-Za-z0-9_-]{16,}"),  # a webhook's signing secret
    re.compile(r"\bya29\.[A-Za-z0-9._-]{8,}|\b1//[A-Za-z0-9._-]{16,}"),  # Google's tokens
)


class SessionLog:
    """A file that every log record of the run is appended to, as calsync would write it."""

    path: Path | None = None
    handler: logging.FileHandler

    def start(self) -> None:
        handle, name = tempfile.mkstemp(prefix="calsync-test-log-", suffix=".log")
        os.close(handle)
        self.path = Path(name)
        self.handler = logging.FileHandler(self.path, encoding="utf-8")
        self.handler.setFormatter(line_formatter("text"))
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self.handler)
        root.setLevel(min(root.level, logging.INFO))  # calsync's own INFO lines count too
        os.environ[LOG_FILE_ENV] = str(self.path)

    def stop(self) -> None:
        if self.path is None:
            return  # never started (a conftest loaded after the session began)
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self._level)
        self.handler.close()
        os.environ.pop(LOG_FILE_ENV, None)

    def lines(self) -> list[str]:
        if self.path is None:
            return []
        return self.path.read_text(encoding="utf-8", errors="replace").splitlines()


def append(lines: Iterable[str]) -> None:
    """Add lines a test captured from a process's own output to the run's log."""
    if path := os.environ.get(LOG_FILE_ENV):
        with open(path, "a", encoding="utf-8") as log:
            log.writelines(line.rstrip("\n") + "\n" for line in lines)


def leaks(lines: Iterable[str], literals: Iterable[str] = ()) -> list[str]:
    """The lines holding a secret's shape or one of `literals`, each secret masked."""
    shapes = [*SECRET_SHAPES, *(re.compile(re.escape(text)) for text in literals if text)]
    found = []
    for line in lines:
        if any(shape.search(line) for shape in shapes):
            for shape in shapes:
                line = shape.sub(lambda m: m[0][:4] + "***", line)
            found.append(line)
    return found

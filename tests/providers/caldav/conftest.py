"""Fixtures for the CalDAV provider tests: each test runs against every real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.servers.caldav_servers import SERVERS, CaldavServer, running


@pytest.fixture(params=SERVERS)
def caldav_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CaldavServer]:
    """A fresh Radicale or Xandikos with user `ana` and the calendars `personal`, `work`.

    Her password is the test users' PASSWORD, which the run's log is searched for at its
    end: a CalDAV password that reached any log line fails the run.
    """
    yield from running(str(request.param), tmp_path, PASSWORD)

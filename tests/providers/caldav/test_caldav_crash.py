"""The SIGKILL crash test's exactly-once check for CalDAV writes: workers killed at random
points of sync and write-back against a real Radicale or Xandikos; afterwards every planned
follow-up has exactly one event in the calendar, every cancelled one none, and no meeting
is duplicated. (The harness is tests/crash/harness.py.)"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.providers.caldav_ical import MARK
from tests.crash.harness import (
    Pool,
    add_source,
    crash_settings_for,
    env_for,
    kill_at_random,
    print_summary,
    verify_exactly_once,
)
from tests.servers.caldav_servers import CaldavServer, event_text

KILLS = 40  # fewer than Google's run: a local CalDAV server answers in milliseconds
MEETINGS = 12
ACCOUNT = "rep@acme-sales.com"


@pytest.fixture
def crash_settings(settings: Settings, tmp_path: Path) -> Settings:
    return crash_settings_for(settings, tmp_path)


def seed(server: CaldavServer) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for n in range(MEETINGS):
        server.put("work", f"call-{n}", event_text(f"call-{n}", now - timedelta(hours=2 + n * 5),
                                                   f"Call {n} with prospect {n % 4}"))


def connect(app: Flask, settings: Settings, server: CaldavServer) -> int:
    work = server.calendars["work"]
    return add_source(
        app, settings, ACCOUNT, kind="caldav", name="CalDAV", url=server.base_url,
        options={"account": f"{server.username}@127.0.0.1", "calendars_read": [work],
                 "calendar_written": work, "calendar_names": {work: "Work"}},
        credentials={"username": server.username, "password": server.password})


def marks(server: CaldavServer) -> list[str]:
    """calsync's mark on each event in the work calendar."""
    texts = (server.get(server.calendars["work"] + name)[0] for name in server.items("work"))
    return [line.split(":", 1)[1].strip()
            for text in texts for line in text.splitlines() if line.startswith(f"{MARK}:")]


def test_workers_killed_at_random_write_each_caldav_event_once(
        crash_settings: Settings, caldav_server: CaldavServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    seed(caldav_server)
    app = create_app(crash_settings)
    source_id = connect(app, crash_settings, caldav_server)
    pool = Pool(env_for(crash_settings, CALSYNC_ALLOW_PRIVATE_URLS="true"))
    chaos = kill_at_random(app, crash_settings, source_id, pool, 20261201, kills=KILLS,
                           pause=(0.1, 0.8), settle_seconds=120)

    with app.app_context(), get_db().session() as session:
        written = verify_exactly_once(session, chaos, meetings=MEETINGS,
                                      marks=marks(caldav_server))
    assert written.failed == 0
    with capsys.disabled():
        print_summary(f"caldav crash safety ({caldav_server.kind})", KILLS, chaos, written,
                      started)

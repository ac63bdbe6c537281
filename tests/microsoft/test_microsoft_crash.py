"""Workers killed with SIGKILL at random points of sync and write-back against the Microsoft
emulator (the harness of `tests/crash/harness.py`): afterwards every answered next step has
exactly one event in Outlook, found by its transactionId, no answer is lost and no meeting
is duplicated."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.models import Prompt
from tests.crash.harness import (
    Pool,
    add_source,
    crash_settings_for,
    env_for,
    kill_at_random,
    oauth_credentials,
    print_summary,
    verify_exactly_once,
)
from tests.microsoft.mscal import timed

KILLS = 40
MEETINGS = 16
ACCOUNT = "rep@contoso.example"


@pytest.fixture
def emulator() -> Iterator[MicrosoftEmulator]:
    with MicrosoftEmulator(accept_any_client=True) as server:
        [calendar] = server.add_account(ACCOUNT)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        for n in range(MEETINGS):
            server.add_event(calendar, timed(
                now - timedelta(hours=2 + n * 5), 45, subject=f"Call {n} with prospect {n % 6}",
                attendees=[{"type": "required", "status": {"response": "accepted"},
                            "emailAddress": {"address": f"buyer@prospect{n % 6}.example"}}]))
        yield server


@pytest.fixture
def crash_settings(settings: Settings, emulator: MicrosoftEmulator, tmp_path: Path) -> Settings:
    return crash_settings_for(
        settings, tmp_path, microsoft_authority_host=emulator.authority_host,
        microsoft_graph_endpoint=emulator.graph_endpoint,
        microsoft_ca_bundle=str(emulator.ca_path), microsoft_webhooks="off")


def microsoft_env(settings: Settings) -> dict[str, str]:
    return env_for(settings, CALSYNC_MICROSOFT_AUTHORITY_HOST=settings.microsoft_authority_host,
                   CALSYNC_MICROSOFT_GRAPH_ENDPOINT=settings.microsoft_graph_endpoint,
                   CALSYNC_MICROSOFT_CA_BUNDLE=settings.microsoft_ca_bundle,
                   CALSYNC_MICROSOFT_WEBHOOKS="off")


def connect(app: Flask, settings: Settings, emulator: MicrosoftEmulator) -> int:
    [calendar] = emulator.calendar_ids(ACCOUNT)
    return add_source(
        app, settings, ACCOUNT, kind="microsoft", name="Outlook", url="",
        options={"account": ACCOUNT, "calendars_read": [calendar],
                 "calendar_written": calendar, "calendar_names": {calendar: "Calendar"}},
        credentials=oauth_credentials(emulator.issue_tokens(ACCOUNT, "calsync-demo")))


def test_workers_killed_at_random_write_each_event_once(
        crash_settings: Settings, emulator: MicrosoftEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    app = create_app(crash_settings)
    source_id = connect(app, crash_settings, emulator)
    emulator.slow(0.1)  # every Graph call takes a moment: kills land mid-sync and mid-write
    chaos = kill_at_random(app, crash_settings, source_id, Pool(microsoft_env(crash_settings)),
                           20261201, kills=KILLS, pause=(0.2, 1.2), settle_seconds=180)

    [calendar] = emulator.calendar_ids(ACCOUNT)
    transactions = [str(event.get("transactionId") or "") for event in emulator.events(calendar)]
    marks = [t.removeprefix("calsync-") for t in transactions if t.startswith("calsync-")]
    with app.app_context(), get_db().session() as session:
        written = verify_exactly_once(session, chaos, meetings=MEETINGS, marks=marks)
        assert session.scalar(select(func.count(Prompt.id))) == MEETINGS
    assert written.failed == 0
    with capsys.disabled():
        print_summary("microsoft crash safety", KILLS, chaos, written, started)

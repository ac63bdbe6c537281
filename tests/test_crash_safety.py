"""Workers killed with SIGKILL at random points of sync and write-back, over a hundred times,
against the Google emulator: afterwards every answered next step has exactly one event in
the calendar, no outcome or note is lost, and no meeting is duplicated."""

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
from calsync.emulator import GoogleEmulator
from calsync.models import Prompt
from calsync.providers.base import FOLLOWUP_MARK
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

KILLS = 100
MEETINGS = 24
ACCOUNT = "rep@acme-sales.com"


@pytest.fixture
def emulator() -> Iterator[GoogleEmulator]:
    with GoogleEmulator(accept_any_client=True) as server:
        server.add_account(ACCOUNT, time_zone="Europe/Berlin")
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        for n in range(MEETINGS):
            start = now - timedelta(hours=2 + n * 5)
            server.add_event(ACCOUNT, {
                "summary": f"Call {n} with prospect {n % 6}",
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": (start + timedelta(minutes=45)).isoformat()},
                "attendees": [{"email": ACCOUNT, "self": True, "responseStatus": "accepted"},
                              {"email": f"buyer@prospect{n % 6}.example"}],
            })
        yield server


@pytest.fixture
def crash_settings(settings: Settings, emulator: GoogleEmulator, tmp_path: Path) -> Settings:
    return crash_settings_for(
        settings, tmp_path, google_api_endpoint=emulator.api_endpoint,
        google_auth_uri=emulator.auth_uri, google_token_uri=emulator.token_uri,
        google_revoke_uri=emulator.revoke_uri, google_webhooks="off")


def google_env(settings: Settings) -> dict[str, str]:
    return env_for(settings, CALSYNC_GOOGLE_API_ENDPOINT=settings.google_api_endpoint,
                   CALSYNC_GOOGLE_TOKEN_URI=settings.google_token_uri,
                   CALSYNC_GOOGLE_AUTH_URI=settings.google_auth_uri,
                   CALSYNC_GOOGLE_REVOKE_URI=settings.google_revoke_uri,
                   CALSYNC_GOOGLE_WEBHOOKS="off")


def connect(app: Flask, settings: Settings, emulator: GoogleEmulator) -> int:
    return add_source(
        app, settings, ACCOUNT, kind="google", name="Google Calendar", url="",
        options={"account": ACCOUNT, "calendars_read": [ACCOUNT],
                 "calendar_written": ACCOUNT, "calendar_names": {ACCOUNT: ACCOUNT}},
        credentials=oauth_credentials(emulator.issue_tokens(ACCOUNT, "calsync-demo")))


def test_workers_killed_at_random_lose_and_duplicate_nothing(
        crash_settings: Settings, emulator: GoogleEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    app = create_app(crash_settings)
    source_id = connect(app, crash_settings, emulator)
    emulator.slow(0.1)  # every Google call takes a moment: kills land mid-sync and mid-write
    chaos = kill_at_random(app, crash_settings, source_id, Pool(google_env(crash_settings)),
                           20261123, kills=KILLS, pause=(0.2, 1.2), settle_seconds=180)

    with app.app_context(), get_db().session() as session:
        marks = [event["extendedProperties"]["private"][FOLLOWUP_MARK]
                 for event in emulator.events(ACCOUNT)
                 if event.get("extendedProperties", {}).get("private", {}).get(FOLLOWUP_MARK)]
        written = verify_exactly_once(session, chaos, meetings=MEETINGS, marks=marks)
        prompts = session.scalar(select(func.count(Prompt.id)).where(
            Prompt.meeting_id.is_not(None)))
        assert prompts == MEETINGS, "every ended meeting with a prospect gets one prompt"
    with capsys.disabled():  # the counts belong in the run's log, not only on failure
        print_summary("crash safety", KILLS, chaos, written, started)

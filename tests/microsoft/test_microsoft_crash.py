"""Workers killed with SIGKILL at random points of sync and write-back against the Microsoft
emulator (the crash test of `tests/test_crash_safety.py`, its pool and chaos reused):
afterwards every answered next step has exactly one event in Outlook, found by its
transactionId, no answer is lost and no meeting is duplicated."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync import crypto
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.models import FollowUp, Meeting, OutboxEntry, Prompt, Source
from calsync.services import accounts
from tests import databases
from tests.microsoft.mscal import timed
from tests.test_crash_safety import Pool, env_for, kill_at_random

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
    return replace(
        settings, queue_immediate=False, queue_name=f"crash-{uuid.uuid4().hex[:8]}",
        redis_url=databases.REDIS_URL, queue_path=str(tmp_path / "queue.db"),
        microsoft_authority_host=emulator.authority_host,
        microsoft_graph_endpoint=emulator.graph_endpoint,
        microsoft_ca_bundle=str(emulator.ca_path), microsoft_webhooks="off",
        sync_lock_seconds=2, outbox_lease_seconds=2, worker_threads=2)


def microsoft_env(settings: Settings) -> dict[str, str]:
    return {**env_for(settings),
            "CALSYNC_MICROSOFT_AUTHORITY_HOST": settings.microsoft_authority_host,
            "CALSYNC_MICROSOFT_GRAPH_ENDPOINT": settings.microsoft_graph_endpoint,
            "CALSYNC_MICROSOFT_CA_BUNDLE": settings.microsoft_ca_bundle,
            "CALSYNC_MICROSOFT_WEBHOOKS": "off"}


def connect(app: Flask, settings: Settings, emulator: MicrosoftEmulator) -> int:
    issued = emulator.issue_tokens(ACCOUNT, "calsync-demo")
    [calendar] = emulator.calendar_ids(ACCOUNT)
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, ACCOUNT, None, "Europe/Berlin")
        source = Source(
            user_id=user.id, kind="microsoft", name="Outlook", url="",
            options={"account": ACCOUNT, "calendars_read": [calendar],
                     "calendar_written": calendar, "calendar_names": {calendar: "Calendar"}},
            credentials=crypto.seal(settings, {
                "token": issued["access_token"], "refresh_token": issued["refresh_token"],
                "expiry": None, "scopes": issued["scope"].split()}),
            cursor={}, warnings=[], next_sync_at=datetime.now(UTC))
        session.add(source)
        session.commit()
        return source.id


def test_workers_killed_at_random_write_each_event_once(
        crash_settings: Settings, emulator: MicrosoftEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    app = create_app(crash_settings)
    source_id = connect(app, crash_settings, emulator)
    emulator.slow(0.1)  # every Graph call takes a moment: kills land mid-sync and mid-write
    chaos = kill_at_random(app, crash_settings, source_id, Pool(microsoft_env(crash_settings)),
                           20261201, kills=KILLS, pause=(0.2, 1.2), settle_seconds=180)
    answered, caught = chaos.answered, chaos.caught

    with app.app_context(), get_db().session() as session:
        counts = verify(session, emulator, answered)
    with capsys.disabled():
        print(f"\nmicrosoft crash safety: {KILLS} workers killed ({caught['mid_sync']} during "
              f"a sync, {caught['mid_write']} during a calendar write); {counts['answers']} "
              f"answers, {counts['next_steps']} next steps with exactly one event each, "
              f"{time.monotonic() - started:.0f} s")


def verify(session: Session, emulator: MicrosoftEmulator,
           answered: dict[int, tuple[str, str]]) -> dict[str, int]:
    source = session.scalar(select(Source))
    assert source is not None and source.status == "ok", source and source.last_error
    keys = session.execute(select(Meeting.uid, Meeting.recurrence_id)).all()
    assert len(keys) == len(set(keys)) == MEETINGS, "a meeting was lost or duplicated"
    assert session.scalar(select(func.count(Prompt.id))) == MEETINGS
    assert answered, "the user answered during the kills"
    for prompt_id, (outcome, note) in answered.items():
        prompt: Any = session.get(Prompt, prompt_id)
        assert (prompt.status, prompt.outcome, prompt.note) == ("answered", outcome, note)
    [calendar] = emulator.calendar_ids(ACCOUNT)
    by_followup: dict[str, int] = {}
    for event in emulator.events(calendar):
        transaction = str(event.get("transactionId") or "")
        if transaction.startswith("calsync-"):
            uid = transaction.removeprefix("calsync-")
            by_followup[uid] = by_followup.get(uid, 0) + 1
    planned = list(session.scalars(select(FollowUp).where(FollowUp.status == "planned")))
    for followup in planned:
        assert followup.write_status == "written", (followup.id, followup.write_error)
        assert by_followup.get(followup.uid) == 1, f"follow-up {followup.id}: " \
                                                  f"{by_followup.get(followup.uid, 0)} events"
    for followup in session.scalars(select(FollowUp).where(FollowUp.status == "cancelled")):
        assert by_followup.get(followup.uid, 0) == 0, f"follow-up {followup.id} left an event"
    assert all(n == 1 for n in by_followup.values()), "an event was written twice"
    failed = session.scalar(select(func.count(OutboxEntry.id)).where(
        OutboxEntry.status == "failed")) or 0
    assert failed == 0
    return {"answers": len(answered), "next_steps": len(planned)}

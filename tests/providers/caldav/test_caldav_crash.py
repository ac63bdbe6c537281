"""The SIGKILL crash test's exactly-once check for CalDAV writes: workers killed at random
points of sync and write-back against a real Radicale or Xandikos; afterwards every planned
follow-up has exactly one event in the calendar, every cancelled one none, and no meeting
is duplicated. (The Google run, with its own checks, is tests/test_crash_safety.py.)"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync import crypto
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.models import FollowUp, Meeting, OutboxEntry, Prompt, Source
from calsync.providers.caldav_ical import MARK
from calsync.services import accounts
from tests import databases
from tests.servers.caldav_servers import CaldavServer, event_text
from tests.test_crash_safety import Pool, env_for, kill_at_random

KILLS = 40  # fewer than Google's run: a local CalDAV server answers in milliseconds
MEETINGS = 12
ACCOUNT = "rep@acme-sales.com"


@pytest.fixture
def crash_settings(settings: Settings, tmp_path: Path) -> Settings:
    return replace(
        settings, queue_immediate=False, queue_name=f"crash-{uuid.uuid4().hex[:8]}",
        redis_url=databases.REDIS_URL, queue_path=str(tmp_path / "queue.db"),
        sync_lock_seconds=2, outbox_lease_seconds=2, worker_threads=2)


def seed(server: CaldavServer) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for n in range(MEETINGS):
        server.put("work", f"call-{n}", event_text(f"call-{n}", now - timedelta(hours=2 + n * 5),
                                                   f"Call {n} with prospect {n % 4}"))


def connect(app: Flask, settings: Settings, server: CaldavServer) -> int:
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, ACCOUNT, None, "Europe/Berlin")
        work = server.calendars["work"]
        source = Source(
            user_id=user.id, kind="caldav", name="CalDAV", url=server.base_url,
            options={"account": f"{server.username}@127.0.0.1", "calendars_read": [work],
                     "calendar_written": work, "calendar_names": {work: "Work"}},
            credentials=crypto.seal(settings, {"username": server.username,
                                               "password": server.password}),
            cursor={}, warnings=[], next_sync_at=datetime.now(UTC))
        session.add(source)
        session.commit()
        return source.id


def test_workers_killed_at_random_write_each_caldav_event_once(
        crash_settings: Settings, caldav_server: CaldavServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    seed(caldav_server)
    app = create_app(crash_settings)
    source_id = connect(app, crash_settings, caldav_server)
    pool = Pool({**env_for(crash_settings), "CALSYNC_ALLOW_PRIVATE_URLS": "true"})
    chaos = kill_at_random(app, crash_settings, source_id, pool, 20261201, kills=KILLS,
                           pause=(0.1, 0.8), settle_seconds=120)
    answered, caught = chaos.answered, chaos.caught

    with app.app_context(), get_db().session() as session:
        planned = verify(session, caldav_server, answered)
    with capsys.disabled():
        print(f"\ncaldav crash safety ({caldav_server.kind}): {KILLS} workers killed "
              f"({caught['mid_sync']} during a sync, {caught['mid_write']} during a write); "
              f"{len(answered)} answers, {planned} follow-ups with exactly one event each")


def verify(session: Session, server: CaldavServer,
           answered: dict[int, tuple[str, str]]) -> int:
    source = session.scalar(select(Source))
    assert source is not None and source.status == "ok", source and source.last_error
    keys = session.execute(select(Meeting.uid, Meeting.recurrence_id)).all()
    assert len(keys) == len(set(keys)) == MEETINGS, "a meeting was lost or duplicated"
    assert answered, "the user answered during the kills"
    for prompt_id, (outcome, note) in answered.items():
        prompt = session.get(Prompt, prompt_id)
        assert prompt is not None
        assert (prompt.status, prompt.outcome, prompt.note) == ("answered", outcome, note)
    by_followup: dict[str, int] = {}
    for name in server.items("work"):
        text, _etag = server.get(server.calendars["work"] + name)
        for line in text.splitlines():
            if line.startswith(f"{MARK}:"):
                mark = line.split(":", 1)[1].strip()
                by_followup[mark] = by_followup.get(mark, 0) + 1
    planned = list(session.scalars(select(FollowUp).where(FollowUp.status == "planned")))
    for followup in planned:
        assert followup.write_status == "written", (followup.id, followup.write_error)
        assert by_followup.get(followup.uid) == 1, (followup.id, by_followup)
    for followup in session.scalars(select(FollowUp).where(FollowUp.status == "cancelled")):
        assert by_followup.get(followup.uid, 0) == 0, f"follow-up {followup.id} left an event"
    assert all(count == 1 for count in by_followup.values()), "an event was written twice"
    failed = session.scalar(select(func.count(OutboxEntry.id)).where(
        OutboxEntry.status == "failed")) or 0
    assert failed == 0
    return len(planned)

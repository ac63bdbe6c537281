"""Workers killed with SIGKILL at random points of sync and write-back, over a hundred times,
against the Google emulator: afterwards every answered next step has exactly one event in
the calendar, no outcome or note is lost, and no meeting is duplicated."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from calsync import crypto
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator import GoogleEmulator
from calsync.jobs import outbox
from calsync.jobs import queue as tasks
from calsync.models import FollowUp, Meeting, OutboxEntry, Prompt, Source, User
from calsync.providers.base import FOLLOWUP_MARK
from calsync.services import accounts, answers
from tests import databases

KILLS = 100
MEETINGS = 24
ROOT = Path(__file__).resolve().parent.parent
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
    return replace(
        settings, queue_immediate=False, queue_name=f"crash-{uuid.uuid4().hex[:8]}",
        redis_url=databases.REDIS_URL, queue_path=str(tmp_path / "queue.db"),
        google_api_endpoint=emulator.api_endpoint, google_auth_uri=emulator.auth_uri,
        google_token_uri=emulator.token_uri, google_revoke_uri=emulator.revoke_uri,
        google_webhooks="off", sync_lock_seconds=2, outbox_lease_seconds=2, worker_threads=2)


def env_for(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALSYNC_", "DATABASE_"))}
    if "CALSYNC_LOG_FILE" in os.environ:  # the test run's log, checked for secrets at its end
        env["CALSYNC_LOG_FILE"] = os.environ["CALSYNC_LOG_FILE"]
    env.update({
        "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
        "QUEUE_PATH": settings.queue_path, "CALSYNC_QUEUE_NAME": settings.queue_name,
        "CALSYNC_INSTANCE_PATH": str(settings.instance_path), "SECRET_KEY": "crash",
        "CALSYNC_GOOGLE_API_ENDPOINT": settings.google_api_endpoint,
        "CALSYNC_GOOGLE_TOKEN_URI": settings.google_token_uri,
        "CALSYNC_GOOGLE_AUTH_URI": settings.google_auth_uri,
        "CALSYNC_GOOGLE_REVOKE_URI": settings.google_revoke_uri,
        "CALSYNC_GOOGLE_WEBHOOKS": "off", "CALSYNC_SYNC_LOCK_SECONDS": "2",
        "CALSYNC_OUTBOX_LEASE_SECONDS": "2", "CALSYNC_WORKER_THREADS": "2",
        "CALSYNC_ENCRYPTION_KEYS": ",".join(crypto.load_keys(settings)),
        "LOG_LEVEL": "CRITICAL",
    })
    return env


class Pool:
    """The worker factory process: `spawn()` forks a real worker, `kill()` SIGKILLs it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.worker_pool"], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.workers: list[int] = []

    def spawn(self) -> int:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write("spawn\n")
        self.process.stdin.flush()
        pid = int(self.process.stdout.readline())
        self.workers.append(pid)
        return pid

    def kill(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it may have ended already
            os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        for pid in self.workers:
            self.kill(pid)
        assert self.process.stdin
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        self.process.wait(timeout=30)
        assert self.process.stdout
        self.process.stdout.close()


def connect(app: Flask, settings: Settings, emulator: GoogleEmulator) -> int:
    tokens = emulator.issue_tokens(ACCOUNT, "calsync-demo")
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, ACCOUNT, None, "Europe/Berlin")
        source = Source(
            user_id=user.id, kind="google", name="Google Calendar", url="",
            options={"account": ACCOUNT, "calendars_read": [ACCOUNT],
                     "calendar_written": ACCOUNT, "calendar_names": {ACCOUNT: ACCOUNT}},
            credentials=crypto.seal(settings, {
                "token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
                "expiry": None, "scopes": tokens["scope"].split()}),
            cursor={}, warnings=[], next_sync_at=datetime.now(UTC))
        session.add(source)
        session.commit()
        return source.id


def sweep(app: Flask, queue: tasks.Queue, source_id: int) -> None:
    """What the worker's minute tick does: queue a sync and every due write."""
    with app.app_context(), get_db().session() as session:
        now = datetime.now(UTC)
        source = session.get(Source, source_id)
        if source.locked_until is None or source.locked_until < now:
            queue.enqueue("sync_source", source_id)
        for entry_id in outbox.due_ids(session, now):
            queue.enqueue("process_outbox", entry_id)


def answer_some(app: Flask, settings: Settings, answered: dict[int, tuple[str, str]],
                rng: random.Random) -> None:
    """The user at work: answers (or changes) a few prompts while workers die around them."""
    with app.app_context(), get_db().session() as session:
        user = session.scalar(select(User))
        prompts = list(session.scalars(select(Prompt).where(Prompt.meeting_id.is_not(None))))
        for prompt in rng.sample(prompts, min(2, len(prompts))):
            note = f"note {uuid.uuid4().hex[:6]}"
            if rng.random() < 0.75:
                step = answers.NextStep(f"Follow up {prompt.id}", datetime.now(UTC)
                                        + timedelta(days=rng.randint(2, 9)), 30, "call")
                answer = answers.Answer("next_step", note=note, next_step=step)
            else:
                answer = answers.Answer(rng.choice(["yes", "no"]), note=note)
            answers.answer_prompt(session, settings, user, prompt, answer)
            answered[prompt.id] = (answer.outcome, note)


@dataclass
class Chaos:
    """What a run of kills saw: the answers given (prompt id -> outcome, note) and how many
    kills landed during a sync and during a calendar write."""

    answered: dict[int, tuple[str, str]] = field(default_factory=dict)
    caught: dict[str, int] = field(default_factory=lambda: {"mid_sync": 0, "mid_write": 0})


def kill_at_random(app: Flask, settings: Settings, source_id: int, pool: Pool, seed: int, *,
                   kills: int, pause: tuple[float, float], settle_seconds: float) -> Chaos:
    """`kills` workers SIGKILLed at random moments while they sync and write and answers
    arrive; then one survivor must bring the source to rest on its own (within
    `settle_seconds`). The same for every provider's crash test."""
    queue: tasks.Queue = app.extensions["calsync.queue"]
    rng = random.Random(seed)  # noqa: S311 - reproducible chaos, not a secret
    chaos = Chaos()
    try:
        for kill in range(kills):
            pid = pool.spawn()
            sweep(app, queue, source_id)
            if kill % 2 == 0:
                answer_some(app, settings, chaos.answered, rng)
            time.sleep(rng.uniform(*pause))
            note_what_is_running(app, chaos.caught)
            pool.kill(pid)
        pool.spawn()  # the survivor: the system must now recover on its own
        deadline = time.monotonic() + settle_seconds
        while not settled(app, source_id) and time.monotonic() < deadline:
            sweep(app, queue, source_id)
            time.sleep(1)
    finally:
        pool.close()
    return chaos


def test_workers_killed_at_random_lose_and_duplicate_nothing(
        crash_settings: Settings, emulator: GoogleEmulator,
        capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    app = create_app(crash_settings)
    source_id = connect(app, crash_settings, emulator)
    emulator.slow(0.1)  # every Google call takes a moment: kills land mid-sync and mid-write
    chaos = kill_at_random(app, crash_settings, source_id, Pool(env_for(crash_settings)),
                           20261123, kills=KILLS, pause=(0.2, 1.2), settle_seconds=180)
    answered, caught = chaos.answered, chaos.caught

    with app.app_context(), get_db().session() as session:
        counts = verify(session, emulator, answered)
    with capsys.disabled():  # the counts belong in the run's log, not only on failure
        print(f"\ncrash safety: {KILLS} workers killed with SIGKILL "
              f"({caught['mid_sync']} during a sync, {caught['mid_write']} during a calendar "
              f"write); {counts['meetings']} meetings, {counts['answers']} answers, "
              f"{counts['next_steps']} next steps with exactly one event each, "
              f"{counts['failed']} failed writes, {time.monotonic() - started:.0f} s")


def note_what_is_running(app: Flask, caught: dict[str, int]) -> None:
    """Count what the worker is in the middle of when it is killed: a held sync lock, a
    leased outbox entry."""
    with app.app_context(), get_db().session() as session:
        now = datetime.now(UTC)
        if session.scalar(select(Source.id).where(Source.locked_until > now)):
            caught["mid_sync"] += 1
        if session.scalar(select(OutboxEntry.id).where(  # leased: a worker holds it
                OutboxEntry.status == "pending", OutboxEntry.next_attempt_at > now).limit(1)):
            caught["mid_write"] += 1


def settled(app: Flask, source_id: int) -> bool:
    with app.app_context(), get_db().session() as session:
        pending = session.scalar(select(func.count(OutboxEntry.id)).where(
            OutboxEntry.status == "pending")) or 0
        source = session.get(Source, source_id)
        return pending == 0 and source.status == "ok"


def verify(session, emulator: GoogleEmulator,  # type: ignore[no-untyped-def]
           answered: dict[int, tuple[str, str]]) -> dict[str, int]:
    source = session.scalar(select(Source))
    assert source.status == "ok", source.last_error
    keys = session.execute(select(Meeting.uid, Meeting.recurrence_id)).all()
    assert len(keys) == len(set(keys)) == MEETINGS, "a meeting was lost or duplicated"
    prompts = session.scalar(select(func.count(Prompt.id)).where(Prompt.meeting_id.is_not(None)))
    assert prompts == MEETINGS, "every ended meeting with a prospect gets one prompt"
    assert answered, "the user answered during the kills"
    for prompt_id, (outcome, note) in answered.items():
        prompt = session.get(Prompt, prompt_id)
        assert (prompt.status, prompt.outcome, prompt.note) == ("answered", outcome, note)
    events = [e for e in emulator.events(ACCOUNT)
              if e.get("extendedProperties", {}).get("private", {}).get(FOLLOWUP_MARK)]
    by_followup: dict[str, int] = {}
    for event in events:
        mark = event["extendedProperties"]["private"][FOLLOWUP_MARK]
        by_followup[mark] = by_followup.get(mark, 0) + 1
    planned = list(session.scalars(select(FollowUp).where(FollowUp.status == "planned")))
    for followup in planned:
        assert followup.write_status == "written", (followup.id, followup.write_error)
        assert by_followup.get(followup.uid) == 1, f"follow-up {followup.id} has " \
                                                  f"{by_followup.get(followup.uid, 0)} events"
    cancelled = session.scalars(select(FollowUp).where(FollowUp.status == "cancelled"))
    for followup in cancelled:  # a changed answer took its event back out of the calendar
        assert by_followup.get(followup.uid, 0) == 0, f"follow-up {followup.id} left an event"
    assert all(count == 1 for count in by_followup.values()), "an event was written twice"
    failed = session.scalar(select(func.count(OutboxEntry.id)).where(
        OutboxEntry.status == "failed")) or 0
    return {"meetings": len(keys), "answers": len(answered), "next_steps": len(planned),
            "failed": failed}

"""The SIGKILL crash tests' shared harness: a pool of real workers, kills at random moments,
and the exactly-once check every provider's run ends with."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync import crypto
from calsync.config import Settings
from calsync.db import get_db
from calsync.jobs import outbox
from calsync.jobs import queue as tasks
from calsync.models import FollowUp, Meeting, OutboxEntry, Prompt, Source, User
from calsync.services import accounts, answers
from tests import databases

ROOT = Path(__file__).resolve().parent.parent.parent


def crash_settings_for(settings: Settings, tmp_path: Path, **provider: Any) -> Settings:
    """Settings for a run with real workers: a queue of its own, short locks and leases so
    what a killed worker held comes free quickly, and the provider's own endpoints."""
    return replace(
        settings, queue_immediate=False, queue_name=f"crash-{uuid.uuid4().hex[:8]}",
        redis_url=databases.REDIS_URL, queue_path=str(tmp_path / "queue.db"),
        sync_lock_seconds=2, outbox_lease_seconds=2, worker_threads=2, **provider)


def env_for(settings: Settings, **provider: str) -> dict[str, str]:
    """The workers' environment: what `crash_settings_for` set, as `calsync worker` reads
    it, plus the provider's own variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALSYNC_", "DATABASE_"))}
    if "CALSYNC_LOG_FILE" in os.environ:  # the test run's log, checked for secrets at its end
        env["CALSYNC_LOG_FILE"] = os.environ["CALSYNC_LOG_FILE"]
    env.update({
        "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
        "QUEUE_PATH": settings.queue_path, "CALSYNC_QUEUE_NAME": settings.queue_name,
        "CALSYNC_INSTANCE_PATH": str(settings.instance_path), "SECRET_KEY": "crash",
        "CALSYNC_SYNC_LOCK_SECONDS": "2", "CALSYNC_OUTBOX_LEASE_SECONDS": "2",
        "CALSYNC_WORKER_THREADS": "2",
        "CALSYNC_ENCRYPTION_KEYS": ",".join(crypto.load_keys(settings)),
        "LOG_LEVEL": "CRITICAL",
    })
    env.update(provider)
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


def add_source(app: Flask, settings: Settings, account: str, *, kind: str, name: str,
               url: str, options: dict[str, Any], credentials: dict[str, Any]) -> int:
    """A user `account` with one connected source, due to sync now; returns its id."""
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, account, None, "Europe/Berlin")
        source = Source(user_id=user.id, kind=kind, name=name, url=url, options=options,
                        credentials=crypto.seal(settings, credentials),
                        cursor={}, warnings=[], next_sync_at=datetime.now(UTC))
        session.add(source)
        session.commit()
        return source.id


def oauth_credentials(tokens: dict[str, Any]) -> dict[str, Any]:
    """What an OAuth provider's source stores from an emulator's issued tokens."""
    return {"token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
            "expiry": None, "scopes": tokens["scope"].split()}


def sweep(app: Flask, queue: tasks.Queue, source_id: int) -> None:
    """What the worker's minute tick does: queue a sync and every due write."""
    with app.app_context(), get_db().session() as session:
        now = datetime.now(UTC)
        source = session.get(Source, source_id)
        assert source is not None
        if source.locked_until is None or source.locked_until < now:
            queue.enqueue("sync_source", source_id)
        for entry_id in outbox.due_ids(session, now):
            queue.enqueue("process_outbox", entry_id)


def answer_some(app: Flask, settings: Settings, answered: dict[int, tuple[str, str]],
                rng: random.Random) -> None:
    """The user at work: answers (or changes) a few prompts while workers die around them."""
    with app.app_context(), get_db().session() as session:
        user = session.scalar(select(User))
        assert user is not None
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
        # On a loaded machine a new worker can die before its first sync ends, so nothing
        # is there to answer: the kills go on (up to three times as many) until there was.
        for kill in range(3 * kills):
            if kill >= kills and chaos.answered:
                break
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
        return pending == 0 and source is not None and source.status == "ok"


@dataclass
class Written:
    """What a run left behind: how many follow-ups are planned (each with exactly one event)
    and how many outbox entries failed for good."""

    next_steps: int
    failed: int


def verify_exactly_once(session: Session, chaos: Chaos, *, meetings: int,
                        marks: Iterable[str]) -> Written:
    """The source at rest, no meeting lost or duplicated, every answer kept, and the marks
    of calsync's events in the calendar (one per event written) name each planned follow-up
    exactly once and no cancelled one."""
    source = session.scalar(select(Source))
    assert source is not None and source.status == "ok", source and source.last_error
    keys = session.execute(select(Meeting.uid, Meeting.recurrence_id)).all()
    assert len(keys) == len(set(keys)) == meetings, "a meeting was lost or duplicated"
    assert chaos.answered, "the user answered during the kills"
    for prompt_id, (outcome, note) in chaos.answered.items():
        prompt = session.get(Prompt, prompt_id)
        assert prompt is not None
        assert (prompt.status, prompt.outcome, prompt.note) == ("answered", outcome, note)
    by_followup = Counter(marks)
    planned = list(session.scalars(select(FollowUp).where(FollowUp.status == "planned")))
    for followup in planned:
        assert followup.write_status == "written", (followup.id, followup.write_error)
        assert by_followup[followup.uid] == 1, f"follow-up {followup.id} has " \
                                               f"{by_followup[followup.uid]} events"
    for followup in session.scalars(select(FollowUp).where(FollowUp.status == "cancelled")):
        assert by_followup[followup.uid] == 0, \
            f"follow-up {followup.id} left an event\n{_history(session, followup)}"
    assert all(count == 1 for count in by_followup.values()), "an event was written twice"
    failed = session.scalar(select(func.count(OutboxEntry.id)).where(
        OutboxEntry.status == "failed")) or 0
    return Written(next_steps=len(planned), failed=failed)


def _history(session: Session, followup: FollowUp) -> str:
    """What calsync recorded of one follow-up and its writes, for a failure's message."""
    fields = ("status", "cancel_reason", "created_at", "changed_at", "cancelled_at",
              "write_status", "write_error", "remote_event_id", "remote_etag",
              "written_start", "write_leased_until", "sequence")
    lines = [", ".join(f"{name}={getattr(followup, name)!r}" for name in fields)]
    entries = session.scalars(select(OutboxEntry).where(OutboxEntry.followup_id == followup.id)
                              .order_by(OutboxEntry.id))
    lines += [f"outbox {entry.id} {entry.kind} {entry.status} attempts={entry.attempts} "
              f"created={entry.created_at} done={entry.done_at} error={entry.last_error!r} "
              f"payload={entry.payload!r}" for entry in entries]
    return "\n".join(lines)


def print_summary(label: str, kills: int, chaos: Chaos, written: Written,
                  started: float) -> None:
    """One line for the run's log (the caller disables capture): where the kills landed and
    what was checked."""
    caught = chaos.caught
    print(f"\n{label}: {kills} workers killed with SIGKILL ({caught['mid_sync']} during a "
          f"sync, {caught['mid_write']} during a calendar write); {len(chaos.answered)} "
          f"answers, {written.next_steps} next steps with exactly one event each, "
          f"{written.failed} failed writes, {time.monotonic() - started:.0f} s")

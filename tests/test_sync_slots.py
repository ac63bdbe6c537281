"""Slow servers can't hold the worker: a real `calsync worker` keeps syncing other users'
sources while two sources trickle their headers, and writes follow-ups to calendars and
delivers other users' webhooks while a CRM hangs; the slots are shared fairly."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from calsync import crypto
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import Channel, WebhookEvent, WriteStatus
from calsync.jobs import writeback
from calsync.jobs.syncslots import Slots
from calsync.models import Deal, FollowUp, Source, User
from calsync.services import accounts, sources, webhooks
from tests import databases
from tests.servers.http_files import FileServer
from tests.servers.processes import stop
from tests.servers.slow_http import SlowServer
from tests.servers.webhook_receiver import Receiver

CALSYNC = str(Path(sys.executable).parent / "calsync")
ROOT = Path(__file__).parents[1]
WRITABLE = "tests.plugins.memory:WritableMemoryProvider"
HANG_SECONDS = 30  # how long the worker waits on a hanging webhook (the receiver: longer)
EMPTY = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def worker_settings(settings: Settings, tmp_path: Path) -> Settings:
    return replace(settings, queue_immediate=False, queue_name=f"slots-{uuid.uuid4().hex[:8]}",
                   redis_url=databases.REDIS_URL, queue_path=str(tmp_path / "queue.db"),
                   fetch_timeout_seconds=120, worker_threads=2)


@pytest.fixture
def worker(worker_settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """A real `calsync worker` on this test's database and queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALSYNC_", "DATABASE_"))}
    env.pop("REDIS_URL", None)
    env.update({
        "DATABASE_URL": worker_settings.database_url, "QUEUE_PATH": worker_settings.queue_path,
        "CALSYNC_QUEUE_NAME": worker_settings.queue_name, "SECRET_KEY": "slots",
        "CALSYNC_INSTANCE_PATH": str(worker_settings.instance_path),
        "CALSYNC_ALLOW_PRIVATE_URLS": "1", "CALSYNC_WORKER_THREADS": "2",
        "CALSYNC_FETCH_TIMEOUT_SECONDS": "120", "CALSYNC_LOG_FORMAT": "text",
        "CALSYNC_WEBHOOK_TIMEOUT_SECONDS": str(HANG_SECONDS),
        "PYTHONPATH": str(ROOT),  # the worker loads the tests' memory provider
        "CALSYNC_ENCRYPTION_KEYS": ",".join(crypto.load_keys(worker_settings)),
    })
    if worker_settings.redis_url:
        env["REDIS_URL"] = worker_settings.redis_url
    process = subprocess.Popen([CALSYNC, "worker"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    yield process
    stop(process)


def add_ics(app: Flask, email: str, *urls: str) -> list[int]:
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, email, None, "UTC")
        ids = [sources.add_source(session, user, kind="ics", url=url, max_bytes=1000).id
               for url in urls]
        session.commit()
        return ids


def status(app: Flask, source_id: int) -> str:
    with app.app_context(), get_db().session() as session:
        source = session.get(Source, source_id)
        assert source is not None
        return source.status


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_two_trickling_feeds_do_not_delay_another_users_sync(
        worker_settings: Settings, worker: subprocess.Popen[bytes],
        http_files: FileServer) -> None:
    app = create_app(worker_settings)
    queue = app.extensions["calsync.queue"]
    with SlowServer(b"HTTP/1.1 200 OK\r\nX-Drip: ", interval=0.2) as slow:
        slow_ids = add_ics(app, "slow@acme-sales.com", slow.url("/a.ics"), slow.url("/b.ics"))
        [normal] = add_ics(app, "rep@other-corp.com", http_files.serve("/cal.ics", EMPTY))
        for source_id in slow_ids:
            queue.enqueue("sync_source", source_id)
        # Both slow fetches are under way: as many as the worker has queue threads.
        assert wait_for(lambda: slow.active == 2, 30), "the worker never fetched the slow feeds"
        queue.enqueue("sync_source", normal)
        # Generous for a loaded machine (the idle queue is polled every few seconds at
        # most); the slow feeds hold their fetches for 120 s.
        synced = wait_for(lambda: status(app, normal) == "ok", 40)
        still_slow = [status(app, source_id) for source_id in slow_ids]
    assert synced, "another user's sync waited behind two slow calendar servers"
    assert still_slow == ["syncing", "syncing"]
    assert worker.poll() is None
    with app.app_context():
        get_db().dispose()


def add_user_with_webhook(app: Flask, settings: Settings, email: str,
                          receiver: Receiver) -> int:
    """A user whose follow-ups go to a writable calendar and whose CRM gets every event."""
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, email, None, "UTC")
        session.add(Source(user_id=user.id, kind=WRITABLE, name="memory", url="",
                           options={"calendar_written": "primary"}, cursor={}, warnings=[]))
        created = webhooks.create(session, settings, user, receiver.url(),
                                  webhooks.known_events())
        receiver.secret = created.secret
        return user.id


def plan_followup(app: Flask, user_id: int, summary: str) -> int:
    """A follow-up planned now: its calendar write and its `followup.created` are queued."""
    with app.app_context(), get_db().session() as session:
        user = session.get(User, user_id)
        assert user is not None
        deal = Deal(user_id=user.id, name=summary, status="open")
        start = datetime.now(UTC) + timedelta(days=2)
        followup = FollowUp(user_id=user.id, deal=deal, uid=uuid.uuid4().hex, summary=summary,
                            start=start, end=start + timedelta(minutes=30),
                            channel=Channel.EMAIL)
        session.add(followup)
        session.flush()
        writeback.followup_changed(session, followup)
        session.commit()
        return followup.id


def write_status(app: Flask, followup_id: int) -> str:
    with app.app_context(), get_db().session() as session:
        followup = session.get(FollowUp, followup_id)
        assert followup is not None
        return followup.write_status


def test_a_hanging_crm_delays_no_calendar_write_and_no_other_users_delivery(
        worker_settings: Settings, worker: subprocess.Popen[bytes]) -> None:
    app = create_app(worker_settings)
    with Receiver(mode="hang") as dead_crm, Receiver() as other_crm:
        hung = add_user_with_webhook(app, worker_settings, "hung@acme-sales.com", dead_crm)
        other = add_user_with_webhook(app, worker_settings, "rep@other-corp.com", other_crm)
        with app.app_context(), get_db().session() as session:
            for _ in range(4):  # more hanging deliveries than the worker has queue threads
                webhooks.emit(session, hung, WebhookEvent.DEAL_WON, {"deal": {"id": 1}})
            session.commit()
        assert wait_for(lambda: len(dead_crm.arrivals) >= 1, 30), "nothing reached the CRM"
        started = time.monotonic()
        mine = plan_followup(app, hung, "Send the pricing")
        theirs = plan_followup(app, other, "Send the contract")
        written = wait_for(lambda: {write_status(app, f) for f in (mine, theirs)}
                           == {WriteStatus.WRITTEN}, HANG_SECONDS / 2)
        write_seconds = time.monotonic() - started
        delivered = wait_for(lambda: len(other_crm.received) == 1, HANG_SECONDS / 2)
        deliver_seconds = time.monotonic() - started
        hanging_at_once = len(dead_crm.arrivals)
    # Before: the four hanging POSTs held both queue threads for HANG_SECONDS each, and
    # the writes and the other user's delivery waited behind them.
    assert written, f"the calendar writes waited behind a hanging CRM ({write_seconds:.1f} s)"
    assert delivered, (f"another user's delivery waited behind a hanging CRM "
                       f"({deliver_seconds:.1f} s)")
    assert other_crm.received[0]["type"] == "followup.created" and other_crm.problems == []
    # One at a time per webhook: the dead CRM got one POST (plus its own follow-up's, queued
    # behind), never all of them at once.
    assert hanging_at_once == 1
    assert worker.poll() is None
    with app.app_context():
        get_db().dispose()


# --- The slots themselves: per owner, in total, in turn ---

class Recorder:
    """A sync that blocks until released, recording which sources ran, in order."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.release: dict[int, threading.Event] = {}
        self.lock = threading.Lock()

    def __call__(self, source_id: int) -> None:
        with self.lock:
            self.started.append(source_id)
            gate = self.release.setdefault(source_id, threading.Event())
        gate.wait(10)

    def finish(self, source_id: int) -> None:
        with self.lock:
            self.release.setdefault(source_id, threading.Event()).set()

    def wait_started(self, count: int) -> list[int]:
        assert wait_for(lambda: len(self.started) >= count, 10), self.started
        time.sleep(0.1)  # nothing more should start
        return list(self.started)


def test_one_user_holds_at_most_their_share_of_slots_and_users_take_turns() -> None:
    run = Recorder()
    slots = Slots(run, slots=3, per_owner=2, name="sync")
    for source_id in (1, 2, 3, 4):  # user 7's four sources
        slots.submit(7, source_id)
    assert run.wait_started(2) == [1, 2]  # at most two of user 7's at once
    slots.submit(8, 10)
    slots.submit(9, 20)
    assert run.wait_started(3) == [1, 2, 10]  # the third slot goes to another user
    run.finish(1)
    assert run.wait_started(4) == [1, 2, 10, 20]  # user 9 was waiting longer than user 7
    run.finish(10)
    assert run.wait_started(5) == [1, 2, 10, 20, 3]
    for source_id in (2, 3, 4, 20):
        run.finish(source_id)
    assert run.wait_started(6) == [1, 2, 10, 20, 3, 4]
    assert wait_for(lambda: slots.busy == 0, 10)


def test_a_source_already_waiting_or_running_is_not_queued_twice() -> None:
    run = Recorder()
    slots = Slots(run, slots=1, per_owner=1, name="sync")
    assert slots.submit(7, 1) and not slots.submit(7, 1)  # running
    assert slots.submit(7, 2) and not slots.submit(7, 2)  # waiting
    run.finish(1)
    run.finish(2)
    assert run.wait_started(2) == [1, 2]
    assert wait_for(lambda: slots.busy == 0, 10)
    assert slots.submit(7, 1)  # done: it may be queued again
    run.finish(1)


def test_a_failing_sync_frees_its_slot() -> None:
    ran: list[int] = []

    def run(source_id: int) -> None:
        ran.append(source_id)
        raise RuntimeError("a bug in one sync")

    slots = Slots(run, slots=1, per_owner=1, name="sync")
    slots.submit(7, 1)
    slots.submit(7, 2)
    assert wait_for(lambda: ran == [1, 2] and slots.busy == 0, 10)

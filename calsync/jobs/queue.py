"""Background jobs on Huey: syncing sources, creating prompts as meetings end, doing outbox
entries, renewing push channels.

Jobs are enqueued by name after the transaction that asks for them has committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_session
from calsync.domain.vocabulary import OutboxStatus
from calsync.jobs import outbox, schedule
from calsync.jobs.syncslots import Slots
from calsync.models import OutboxEntry, Source


class Queue:
    """The app's job queue: Huey plus the jobs registered on it, looked up by name."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self.jobs: dict[str, Any] = {}
        # Set by a worker process (`calsync worker`): syncs and webhook deliveries then run
        # on slots of their own instead of the queue's threads. Elsewhere (immediate mode,
        # scripts, benchmarks) the jobs do them inline.
        self.sync_slots: Slots | None = None
        self.delivery_slots: Slots | None = None
        self.do_entry: Callable[[int], None]  # does one outbox entry here (see _register)

    def enqueue(self, name: str, *args: Any) -> None:
        self.jobs[name](*args)

    def enqueue_in(self, seconds: float, name: str, *args: Any) -> None:
        self.jobs[name].schedule(args=args, delay=seconds)


def make_huey(settings: Settings) -> Huey:
    if settings.queue_immediate:
        return Huey(settings.queue_name, immediate=True)
    if settings.redis_url:
        return RedisHuey(settings.queue_name, url=settings.redis_url)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.queue_name, filename=settings.queue_path)


def init_app(app: Flask, settings: Settings) -> Queue:
    queue = Queue(make_huey(settings))
    _register(queue, app)

    def attempt(entry_ids: list[int]) -> None:
        for entry_id in entry_ids:
            queue.enqueue("process_outbox", entry_id)

    # An effect recorded in the outbox is attempted as soon as its transaction commits.
    outbox.listen(app.extensions["calsync.db"].sessionmaker, attempt)
    app.extensions["calsync.queue"] = queue
    return queue


def start_slots(app: Flask) -> None:
    """In a worker process: run every sync on the sync slots, and every webhook delivery on
    the delivery slots (see calsync/jobs/syncslots.py)."""
    from calsync.jobs import sync
    settings: Settings = app.extensions["calsync.settings"]
    queue: Queue = app.extensions["calsync.queue"]

    def run(session: Session, source_id: int) -> None:
        sync.sync_source(session, settings, source_id)

    queue.sync_slots = Slots(_in_app(app, run), slots=settings.sync_slots,
                             per_owner=settings.sync_slots_per_user, name="sync")
    # One at a time per webhook: a hanging CRM holds one slot, and its events arrive in
    # the order they happened.
    queue.delivery_slots = Slots(queue.do_entry, slots=settings.webhook_slots, per_owner=1,
                                 name="webhook")


def enqueue(name: str, *args: Any) -> None:
    """Queue job `name` on the current app's queue (runs inline in immediate mode)."""
    current_app.extensions["calsync.queue"].enqueue(name, *args)


def _in_app(app: Flask, job: Callable[..., Any]) -> Callable[..., Any]:
    """Run `job(session, *args)` in an app context with a fresh session of its own."""

    def run(*args: Any) -> Any:
        with app.app_context():
            return job(get_session(), *args)

    run.__name__ = job.__name__
    return run


def _register(queue: Queue, app: Flask) -> None:
    # Imported here: the jobs reach into the whole app, and the app (and every service
    # that enqueues) imports this module.
    from calsync.jobs import digest, effects, sync
    from calsync.services import prompts, webhooks
    from calsync.services.google import channels

    huey = queue.huey
    settings: Settings = app.extensions["calsync.settings"]

    def tick(session: Session) -> None:
        """Every minute: sync the sources that are due and prompt the touches that ended."""
        now = datetime.now(UTC)
        if not schedule.claim(session, "tick", timedelta(minutes=1), now):
            return  # another worker's scheduler already ran this minute's tick
        for source_id in sync.due_source_ids(session, now):
            queue.enqueue("sync_source", source_id)
        prompts.create_due_prompts(session, settings, now)
        prompts.wake_snoozed(session, now)
        digest.record_due(session, settings, now)  # the coach's email at each user's hour
        for entry_id in outbox.due_ids(session, now):  # retries, and effects a crash left
            queue.enqueue("process_outbox", entry_id)
        if schedule.claim(session, "renew_channels", timedelta(minutes=15), now):
            channels.renew_due(session, settings, now)

    def sync_source(session: Session, source_id: int) -> None:
        # In a worker, only hand the source over: the queue's threads stay free for the
        # tick, prompts and write-backs however slow a calendar server is.
        if queue.sync_slots is None:
            sync.sync_source(session, settings, source_id)
            return
        user_id = session.scalar(select(Source.user_id).where(Source.id == source_id))
        if user_id is not None:  # None: the source was removed meanwhile
            queue.sync_slots.submit(user_id, source_id)

    def process_outbox(session: Session, entry_id: int) -> None:
        # In a worker, a webhook delivery is only handed to its webhook's slot: a CRM that
        # hangs holds that slot, never the threads of the tick, prompts and write-backs.
        slots = queue.delivery_slots
        webhook_id = webhooks.webhook_of_entry(session, entry_id) if slots else None
        if slots is None or webhook_id is None:
            do_entry(session, entry_id)
        else:
            slots.submit(webhook_id, entry_id)

    def do_entry(session: Session, entry_id: int) -> None:
        effects.process(session, settings, entry_id)
        # Still pending: it failed and waits to retry, or another write of the same
        # follow-up held it back. Either way, come back for it.
        entry = session.get(OutboxEntry, entry_id)
        if entry is not None and entry.status == OutboxStatus.PENDING:
            wait = (entry.next_attempt_at - datetime.now(UTC)).total_seconds()
            queue.enqueue_in(max(wait, 1.0), "process_outbox", entry_id)

    queue.jobs["sync_source"] = huey.task(name="sync_source")(_in_app(app, sync_source))
    queue.jobs["process_outbox"] = huey.task(name="process_outbox")(
        _in_app(app, process_outbox))
    queue.do_entry = _in_app(app, do_entry)
    queue.jobs["tick"] = huey.periodic_task(crontab(minute="*"), name="tick")(_in_app(app, tick))

"""Sync applies a provider's changes to meetings: adds, moves, cancels, never duplicates, and
keeps everything the user typed when a source fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.meeting import Attendee, MeetingData
from calsync.errors import SourceError
from calsync.jobs import sync
from calsync.models import Meeting, Prompt, Source, User
from calsync.services import answers
from calsync.services import prompts as inbox
from tests.at_once import at_once
from tests.memory_source import memory_source
from tests.plugins import memory

NOW = datetime.now(UTC).replace(microsecond=0)
BUYER = (Attendee("buyer@prospect.example", "Buyer", "accepted"),)


def meeting(uid: str, hours_ago: float = 2, rid: str = "", title: str = "Demo",
            status: str = "confirmed", attendees: tuple[Attendee, ...] = BUYER) -> MeetingData:
    start = NOW - timedelta(hours=hours_ago)
    return MeetingData(uid=uid, recurrence_id=rid, title=title, start=start,
                       end=start + timedelta(hours=1), status=status, attendees=attendees,
                       series_uid=uid if rid else "")


@pytest.fixture
def source(db_session: Session, user: User) -> Iterator[Source]:
    with memory_source(db_session, user, NOW) as row:
        yield row


def run(session: Session, settings: Settings, source: Source,
        content: list[MeetingData] | SourceError) -> sync.SyncReport:
    memory.CALENDARS[source.id] = content
    report = sync.sync_source(session, settings, source.id, now=NOW)
    session.expire_all()
    return report


def meetings(session: Session, source: Source) -> list[Meeting]:
    return list(session.scalars(select(Meeting).where(Meeting.source_id == source.id)
                                .order_by(Meeting.uid, Meeting.recurrence_id)))


def test_first_sync_imports_and_prompts_ended_meetings(db_session, settings, source) -> None:
    future = meeting("later", hours_ago=-5)
    report = run(db_session, settings, source, [meeting("a"), future])
    assert (report.result, report.added, report.prompts) == ("ok", 2, 1)
    assert db_session.get(Source, source.id).status == "ok"
    prompts = list(db_session.scalars(select(Prompt)))
    assert [p.meeting.uid for p in prompts] == ["a"]
    assert prompts[0].deal.name == "Prospect"


def test_resync_moves_cancels_and_never_duplicates(db_session, settings, source) -> None:
    series = [meeting("weekly", hours_ago=h, rid=f"r{h}") for h in (2, 30, 200)]
    run(db_session, settings, source, [meeting("a"), meeting("b"), *series])
    moved = meeting("a", hours_ago=3)
    cancelled = meeting("weekly", hours_ago=30, rid="r30", status="cancelled")
    report = run(db_session, settings, source, [moved, cancelled, series[0], series[2]])

    rows = {(m.uid, m.recurrence_id): m for m in meetings(db_session, source)}
    assert len(rows) == 5  # nothing duplicated
    assert rows[("a", "")].start == moved.start
    assert rows[("b", "")].status == "cancelled"  # vanished from a complete read
    assert rows[("weekly", "r30")].status == "cancelled"
    assert report.updated == 2 and report.cancelled == 2
    withdrawn = db_session.scalars(select(Prompt).where(Prompt.status == "withdrawn")).all()
    assert {p.meeting.uid for p in withdrawn} == {"b", "weekly"}


def test_unchanged_read_touches_nothing(db_session, settings, source) -> None:
    content = [meeting("a")]
    run(db_session, settings, source, content)
    before = db_session.scalar(select(Meeting.updated_at))
    report = run(db_session, settings, source, content)
    assert report.result == "unchanged"
    assert db_session.scalar(select(Meeting.updated_at)) == before


def test_answered_prompt_survives_cancellation_and_failure(db_session, settings, source,
                                                           user) -> None:
    run(db_session, settings, source, [meeting("a")])
    prompt = db_session.scalar(select(Prompt))
    answers.answer_prompt(db_session, settings, db_session.get(User, user.id), prompt,
                          answers.Answer("yes", note="Signed the pilot"))

    failing = run(db_session, settings, source,
                  SourceError("The feed answered 500.", transient=True))
    assert failing.result == "error"
    src = db_session.get(Source, source.id)
    assert src.status == "error" and "500" in src.last_error
    assert src.failure_count == 1
    assert src.next_sync_at == NOW + timedelta(minutes=1)  # first retry comes soon
    assert len(meetings(db_session, source)) == 1

    run(db_session, settings, source, [])  # the meeting vanished from the calendar
    kept = db_session.scalar(select(Prompt))
    assert kept.status == "answered" and kept.note == "Signed the pilot"
    assert db_session.get(Source, source.id).status == "ok"


def test_backoff_grows_and_permanent_errors_wait_for_the_interval(db_session, settings,
                                                                  source) -> None:
    delays = []
    for _ in range(4):
        db_session.get(Source, source.id).next_sync_at = NOW
        db_session.commit()
        run(db_session, settings, source, SourceError("unreachable", transient=True))
        delays.append(db_session.get(Source, source.id).next_sync_at - NOW)
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    run(db_session, settings, source, SourceError("404: the feed is gone"))
    assert db_session.get(Source, source.id).next_sync_at - NOW == timedelta(
        minutes=settings.sync_interval_minutes)


def test_a_crash_in_the_provider_is_recorded_not_raised(db_session, settings, source) -> None:
    memory.CALENDARS[source.id] = [meeting("a")]
    run(db_session, settings, source, [meeting("a")])

    class Broken(list):  # iterating it blows up inside sync, like a provider bug would
        def __iter__(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    report = run(db_session, settings, source, Broken([meeting("b")]))
    assert report.result == "error"
    src = db_session.get(Source, source.id)
    assert src.status == "error" and "boom" not in (src.last_error or "")
    assert src.locked_until is None
    assert len(meetings(db_session, source)) == 1


def test_a_held_lock_skips_the_second_worker(db_session, settings, source) -> None:
    db_session.get(Source, source.id).locked_until = NOW + timedelta(minutes=5)
    db_session.commit()
    memory.READS.clear()
    assert run(db_session, settings, source, [meeting("a")]).result == "skipped"
    assert memory.READS == []
    db_session.get(Source, source.id).locked_until = NOW - timedelta(seconds=1)  # died
    db_session.commit()
    assert run(db_session, settings, source, [meeting("a")]).result == "ok"


def test_due_sources_exclude_paused_and_locked(db_session, settings, source, user) -> None:
    assert sync.due_source_ids(db_session, NOW) == [source.id]
    db_session.get(Source, source.id).status = "disabled"
    db_session.commit()
    assert sync.due_source_ids(db_session, NOW) == []


def test_prompt_rules_are_remembered_and_reset(db_session, settings, source, user) -> None:
    colleague = (Attendee("bo@acme-sales.com", "Bo", "accepted"),)
    run(db_session, settings, source, [meeting("standup", attendees=colleague)])
    assert db_session.scalar(select(Meeting.prompt_skip)) == "internal_only"
    assert db_session.scalar(select(func.count(Prompt.id))) == 0
    inbox.reset_prompt_skips(db_session, db_session.get(User, user.id))
    db_session.commit()
    assert db_session.scalar(select(Meeting.prompt_skip)) is None


def test_each_sync_logs_source_counts_duration_and_result(db_session, settings, source,
                                                          caplog) -> None:
    with caplog.at_level("INFO", logger="calsync.jobs.sync"):
        run(db_session, settings, source, [meeting("a"), meeting("b")])
    (record,) = [r for r in caplog.records if r.name == "calsync.jobs.sync"]
    assert (record.source_id, record.result, record.added) == (source.id, "ok", 2)
    assert record.duration_ms >= 0 and record.prompts == 2


def test_two_workers_never_sync_one_source_at_once(app, settings, source) -> None:  # type: ignore[no-untyped-def]
    from calsync.db import get_db

    memory.CALENDARS[source.id] = [meeting("a")]
    memory.READ_DELAY = 0.5  # the first worker is still reading when the second arrives
    results: list[str] = []

    def worker(_start: object) -> None:  # READ_DELAY makes the race: no barrier needed
        with app.app_context(), get_db().session() as session:
            results.append(sync.sync_source(session, settings, source.id).result)

    try:
        assert at_once(worker, timeout=30) == []
    finally:
        memory.READ_DELAY = 0.0
    assert sorted(results) == ["ok", "skipped"]

"""Prompting's fixed costs per sync (issue 12): a page's deals are found and created in one
go, safely when two passes race, and a sync that read no change leaves prompting to the tick."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.vocabulary import MeetingStatus
from calsync.jobs import sync
from calsync.models import Deal, Meeting, Prompt, Source, User
from calsync.services import prompts
from tests.at_once import at_once
from tests.memory_source import memory_source
from tests.plugins import memory

NOW = datetime.now(UTC).replace(microsecond=0)


def ended(n: int, company: str, hours_ago: float = 3) -> Meeting:
    start = NOW - timedelta(hours=hours_ago, minutes=n)
    return Meeting(uid=f"m{n}", recurrence_id="", series_uid="", title=f"Call {n}",
                   start=start, end=start + timedelta(minutes=30), status="confirmed",
                   all_day=False, attendees=[{"email": f"buyer{n}@{company}", "name": "",
                                              "response": "accepted", "is_self": False}],
                   attendee_count=1, content_hash=f"h{n}", updated_at=NOW)


@pytest.fixture
def source(db_session: Session, user: User) -> Iterator[Source]:
    with memory_source(db_session, user, NOW) as row:
        yield row


def store(session: Session, source: Source, meetings: list[Meeting]) -> None:
    for meeting in meetings:
        meeting.user_id, meeting.source_id = source.user_id, source.id
    session.add_all(meetings)
    session.commit()


def deals_by_key(session: Session, user: User) -> dict[str | None, int]:
    return {key: deal_id for key, deal_id in session.execute(
        select(Deal.key, Deal.id).where(Deal.user_id == user.id))}


def test_a_page_finds_and_creates_its_deals_in_one_statement_each(
        db_session: Session, settings: Settings, source: Source, user: User) -> None:
    known = Deal(user_id=user.id, name="Old", key="domain:old.example")
    db_session.add(known)
    store(db_session, source, [ended(n, company) for n, company in enumerate(
        ["old.example", "new.example", "old.example", "other.example", "new.example"])])
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert prompts.create_due_prompts(db_session, settings, NOW, user_id=user.id) == 5
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    deals = deals_by_key(db_session, user)
    assert deals.keys() == {"domain:old.example", "domain:new.example", "domain:other.example"}
    assert deals["domain:old.example"] == known.id  # found, not made again
    by_meeting = {uid: deal_id for uid, deal_id in db_session.execute(
        select(Meeting.uid, Prompt.deal_id).join(Prompt, Prompt.meeting_id == Meeting.id))}
    assert by_meeting == {"m0": known.id, "m1": deals["domain:new.example"],
                          "m2": known.id, "m3": deals["domain:other.example"],
                          "m4": deals["domain:new.example"]}
    on_deals = [s for s in statements if "deals" in s.split("WHERE")[0].lower()
                and "prompts" not in s.split("WHERE")[0].lower()]
    assert sum(s.lstrip().upper().startswith("INSERT") for s in on_deals) == 1
    assert sum(s.lstrip().upper().startswith("SELECT") for s in on_deals) == 1


def test_two_passes_racing_make_each_deal_and_prompt_once(
        app: Flask, db_session: Session, settings: Settings, source: Source,
        user: User) -> None:
    companies = [f"c{n % 7}.example" for n in range(60)]
    store(db_session, source, [ended(n, company) for n, company in enumerate(companies)])

    def prompt_pass(start: threading.Barrier) -> None:
        with app.app_context(), get_db().session() as session:
            start.wait(timeout=10)
            prompts.create_due_prompts(session, settings, NOW, user_id=user.id)

    assert at_once(prompt_pass) == []  # a racing pass must not fail
    # The loser of a race leaves the rest to the next pass, as the tick's next minute does.
    prompts.create_due_prompts(db_session, settings, NOW, user_id=user.id)
    assert set(deals_by_key(db_session, user)) == {f"domain:{c}" for c in set(companies)}
    assert db_session.scalar(select(func.count(Prompt.id))) == 60
    assert db_session.scalar(select(func.count(func.distinct(Prompt.meeting_id)))) == 60


def test_a_sync_that_read_no_change_leaves_prompting_to_the_tick(
        db_session: Session, settings: Settings, source: Source, user: User) -> None:
    start = NOW - timedelta(minutes=30)
    soon_over = MeetingData(
        uid="demo", recurrence_id="", title="Demo", start=start,
        end=start + timedelta(hours=1), status=MeetingStatus.CONFIRMED,
        attendees=(Attendee("buyer@prospect.example", "Buyer", "accepted"),))
    memory.CALENDARS[source.id] = [soon_over]
    assert sync.sync_source(db_session, settings, source.id, now=NOW).prompts == 0
    later = soon_over.end + timedelta(minutes=settings.prompt_grace_minutes + 1)
    db_session.get(Source, source.id).next_sync_at = later  # type: ignore[union-attr]
    db_session.commit()

    report = sync.sync_source(db_session, settings, source.id, now=later)
    assert (report.result, report.prompts) == ("unchanged", 0)
    assert db_session.scalar(select(func.count(Prompt.id))) == 0
    assert prompts.create_due_prompts(db_session, settings, later) == 1  # the minute tick's

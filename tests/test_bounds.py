"""Hostile calendars are bounded in rows: attendees per meeting and per sync, prompts per
sync and per user per day, sources per user; one user's flood never fails another's calls."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import Database, get_db
from calsync.jobs import sync
from calsync.models import Meeting, Prompt, Source, User
from calsync.services import prompts, sources
from tests.api.conftest import Event, error_of, ics_text, upload
from tests.bounded import run_bounded
from tests.conftest import api_client_for, login
from tests.hostile_rows import minutely_flood
from tests.web.conftest import post


def add_upload(session: Session, user: User, body: bytes, name: str = "cal") -> int:
    source = sources.add_source(session, user, kind="ics", name=name, upload=body,
                                max_bytes=len(body))
    session.commit()
    return source.id


def count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count(model.id)).where(*where)) or 0  # type: ignore[attr-defined]


def test_attendee_storm_is_bounded_in_memory_and_rows(tmp_path: Path) -> None:
    """1,000 attendees on an event every minute: before, 3 GB of worker memory and a
    ~490 MB database (and 13 minutes on a loaded machine)."""
    run = run_bounded("tests.hostile_rows:sync_case", "storm", str(tmp_path),
                      memory_mb=700, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = run.result
    assert isinstance(result, dict)
    assert (result["result"], result["status"]) == ("ok", "ok")
    assert result["meetings"] == 5000  # the series' occurrence limit
    assert result["attendees_stored_first"] == 50  # CALSYNC_MAX_ATTENDEES_PER_MEETING
    assert result["db_bytes"] < 40_000_000
    assert any("more attendees than calsync stores" in w for w in result["warnings"])


def test_stored_attendees_keep_the_count_and_the_people_that_matter(
        db_session: Session, settings: Settings, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("ana@acme-sales.com")
    people = [f"c{n}@acme-sales.com" for n in range(120)] + ["cfo@prospect.example"]
    body = ics_text(Event("big", "Quarterly review", attendees=tuple(people))).encode()
    source_id = add_upload(db_session, user, body)
    report = sync.sync_source(db_session, settings, source_id)
    assert (report.result, report.prompts) == ("ok", 1)  # the outsider made it a sales meeting
    [meeting] = db_session.scalars(select(Meeting).where(Meeting.source_id == source_id))
    assert len(meeting.attendees) == 50 and meeting.attendee_count == 122  # with the owner
    assert meeting.more_attendees == 72
    assert "cfo@prospect.example" in {a["email"] for a in meeting.attendees}
    [prompt] = db_session.scalars(select(Prompt))
    assert prompt.deal is not None and prompt.deal.name == "Prospect"
    # Unchanged on the next read: the bounded row hashes the same, nothing is rewritten.
    db_session.get(Source, source_id).cursor = {}
    db_session.commit()
    assert sync.sync_source(db_session, settings, source_id).updated == 0


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return replace(settings, max_meetings_per_source=4000, max_prompts_per_sync=40,
                   max_prompts_per_user_per_day=100)


def test_a_flood_of_ended_meetings_becomes_one_warning(
        app: Flask, limited: Settings, make_user) -> None:  # type: ignore[no-untyped-def]
    """200 minutely series: before, one sync made a prompt for every meeting."""
    now = datetime.now(UTC)
    with app.app_context(), get_db().session() as session:
        flooder, other = make_user("flood@acme-sales.com"), make_user("bo@other-sales.com")
        flood_id = add_upload(session, flooder, minutely_flood(now), "flood")
        other_id = add_upload(session, other, ics_text(Event("real", "Real demo")).encode())

        report = sync.sync_source(session, limited, flood_id)
        assert (report.result, report.added, report.prompts) == ("ok", 4000, 40)
        assert sync.sync_source(session, limited, other_id).prompts == 1
        for _minute in range(5):  # the minute tick, as the worker runs it
            prompts.create_due_prompts(session, limited, datetime.now(UTC))

        assert count(session, Prompt, Prompt.user_id == flooder.id) == 100  # the daily limit
        assert count(session, Prompt, Prompt.user_id == other.id) == 1
        assert count(session, Meeting, Meeting.prompt_skip == "prompt_limit") == 3900
        source = session.get(Source, flood_id)
        assert source is not None and source.status == "ok"
        [warning] = [w for w in source.warnings if "a day" in w]
        assert "3,900 meetings" in warning and "CALSYNC_MAX_PROMPTS_PER_USER_PER_DAY" in warning
        assert session.get(Source, other_id).warnings == []


def test_sources_per_user_are_limited_in_the_api_and_on_the_page(
        app: Flask, client, settings: Settings, user: User) -> None:  # type: ignore[no-untyped-def]
    app.extensions["calsync.settings"] = replace(settings, max_sources_per_user=2)
    api = api_client_for(app, client, user)
    upload(api, Event("a"), name="one")
    upload(api, Event("b"), name="two")
    error = error_of(api.post("/api/v1/sources", json={"kind": "ics", "ics": ics_text(
        Event("c"))}), 422)
    assert (error["code"], error["field"]) == ("limit_reached", "ics")
    assert "you already have 2 calendars" in error["message"]

    login(client, user.email)
    response = post(client, "/sources/url", {"url": "https://example.com/c.ics"})
    assert response.status_code == 422
    assert "you already have 2 calendars" in response.get_data(as_text=True)
    with app.app_context(), get_db().session() as session:
        assert count(session, Source, Source.user_id == user.id) == 2


def test_a_flood_sync_never_fails_another_users_requests(
        app: Flask, client, settings: Settings, make_user) -> None:  # type: ignore[no-untyped-def]
    """While one user's flood syncs (a worker thread), another user's API calls, reads and
    writes, all answer, and the minute tick runs. Before, the flood held SQLite's write
    lock for its whole sync: "database is locked" after 15 s, as a 500 and a crashed tick."""
    flood_settings = replace(settings, max_meetings_per_source=10_000)
    now = datetime.now(UTC)
    with app.app_context(), get_db().session() as session:
        flooder, other = make_user("flood@acme-sales.com"), make_user("bo@other-sales.com")
        flood_id = add_upload(session, flooder, minutely_flood(now), "flood")
    api = api_client_for(app, client, other)
    mine = upload(api, Event("real", "Real demo"))["id"]
    tick = app.extensions["calsync.queue"].jobs["tick"]

    outcome: list[object] = []

    def flood() -> None:
        try:
            with app.app_context(), get_db().session() as session:
                outcome.append(sync.sync_source(session, flood_settings, flood_id))
        except BaseException as exc:  # reported by the test below
            outcome.append(exc)

    worker = threading.Thread(target=flood)
    worker.start()
    answers, ticks = [], []
    while worker.is_alive():
        answers += [api.get("/api/v1/me").status_code,
                    api.get("/api/v1/prompts").status_code,
                    api.post("/api/v1/feed/rotate").status_code,
                    api.post(f"/api/v1/sources/{mine}/sync").status_code]
        try:
            tick.call_local()
            ticks.append("ok")
        except Exception as exc:  # the tick must not crash: say how it did
            ticks.append(repr(exc))
    worker.join()

    [report] = outcome
    assert isinstance(report, sync.SyncReport) and report.result == "ok", report
    assert len(answers) >= 8, "the flood ended before the other user's calls could overlap it"
    assert [a for a in answers if not 200 <= a < 300] == []
    assert [t for t in ticks if t != "ok"] == []
    with app.app_context(), get_db().session() as session:
        assert count(session, Meeting, Meeting.source_id == flood_id) == 10_000


def test_sqlite_waits_for_the_lock_in_wal_mode(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_seconds=7)
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
    database.dispose()

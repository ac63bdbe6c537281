"""Removing a calendar and adding it again: the answered meetings its removal kept are
matched again by uid and recurrence id instead of imported twice. Nothing answered is asked
again, the deal's timeline stays as it was, and the planned follow-up isn't cancelled as
booked by a meeting that was over before it was planned. Over a real ICS server, and a
CalDAV account disconnected and connected again on real Radicale and Xandikos."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import PromptStatus
from calsync.models import FollowUp, Meeting, Prompt, Source, User
from calsync.services import caldav_connect, sources
from tests.api.conftest import Event, ics_text, pending
from tests.conftest import PASSWORD, ApiClient
from tests.providers.caldav.test_caldav_writeback import ended_call, followups_in, plan
from tests.servers.caldav_servers import SERVERS, CaldavServer, running
from tests.servers.http_files import FileServer

CALENDAR = (
    # Three ended occurrences (51, 27 and 3 hours ago): their prompts are covered by the demo.
    Event("standup@contoso", "Standup", hours_ago=51, minutes=15, rrule="FREQ=DAILY;COUNT=3"),
    Event("demo@contoso", "Prospect demo", hours_ago=2),  # answered with a next step
    Event("call@contoso", "Pricing call", hours_ago=0.5),  # after the demo: left unanswered
)


def connect(api: ApiClient, url: str) -> int:
    response = api.post("/api/v1/sources", json={"kind": "ics", "name": "Work", "url": url})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def stored(app: Flask) -> list[tuple[str, str, int | None, int]]:
    """Every meeting row: uid, recurrence id, source and id."""
    with app.app_context(), get_db().session() as session:
        return [(m.uid, m.recurrence_id, m.source_id, m.id) for m in session.scalars(
            select(Meeting).order_by(Meeting.uid, Meeting.recurrence_id, Meeting.id))]


def timeline(api: ApiClient, deal_id: int) -> list[Any]:
    """The deal's touches and what its timeline shows of them and its follow-ups; each
    meeting without its source (which is the point here), and without the prompt still
    waiting (its meeting, never answered, went with the source and is read anew)."""
    deal = api.get(f"/api/v1/deals/{deal_id}").get_json()
    shown = [entry for entry in deal["timeline"]
             if not entry["prompt"] or entry["prompt"]["status"] != "pending"]
    for entry in shown:
        if entry["prompt"]:
            entry["prompt"]["meeting"].pop("source_id")
    return [deal["touches"], shown]


def test_a_calendar_added_again_adopts_its_answered_meetings(app, api, http_files,
                                                             caplog) -> None:
    url = http_files.serve("/work.ics", ics_text(*CALENDAR))
    first = connect(api, url)
    asked = pending(api)
    assert set(asked) == {"Standup", "Prospect demo", "Pricing call"}
    start = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    answered = api.post(f"/api/v1/prompts/{asked['Prospect demo']['id']}/answer", json={
        "outcome": "next_step", "next_step": {"summary": "Send pricing",
                                              "start": start.isoformat()}}).get_json()
    assert len(answered["covered"]) == 3  # the standups
    followup, deal_id = answered["followup"]["id"], answered["deal"]["id"]
    before = timeline(api, deal_id)
    kept = {(uid, rid): mid for uid, rid, _source, mid in stored(app) if uid != "call@contoso"}
    assert len(kept) == 4

    assert api.delete(f"/api/v1/sources/{first}").status_code == 204
    assert {source for _u, _r, source, _i in stored(app)} == {None}  # kept, detached
    second = connect(api, url)

    rows = stored(app)
    assert Counter((uid, rid) for uid, rid, _s, _i in rows).most_common(1)[0][1] == 1
    assert {(uid, rid): mid for uid, rid, _s, mid in rows if uid != "call@contoso"} == kept
    assert {source for _u, _r, source, _i in rows} == {second}
    assert f"source {second} adopted 4 detached meetings" in caplog.messages
    assert set(pending(api)) == {"Pricing call"}  # never answered: asked again, alone
    assert timeline(api, deal_id) == before
    # The pricing call, read again now, began before the follow-up was planned: not booked.
    shown = api.get(f"/api/v1/followups/{followup}").get_json()
    assert (shown["status"], shown["cancel_reason"]) == ("planned", None)

    # Later syncs change nothing: the adopted rows are the source's own.
    assert api.post(f"/api/v1/sources/{second}/sync").status_code == 200
    assert stored(app) == rows


def test_rows_kept_twice_before_adoption_existed_adopt_one(app, api) -> None:
    """Copies left detached by removals before adoption existed: a source holding the key
    already adopts none (its sync still works), one added again adopts the oldest only."""
    with FileServer() as server:
        url = server.serve("/work.ics", ics_text(Event("demo@contoso", "Prospect demo")))
        first = connect(api, url)
        prompt = pending(api)["Prospect demo"]["id"]
        api.post(f"/api/v1/prompts/{prompt}/answer", json={"outcome": "yes"})
        with app.app_context(), get_db().session() as session:
            [kept] = session.scalars(select(Meeting))
            session.add_all(Meeting(user_id=kept.user_id, uid=kept.uid, title=kept.title,
                                    start=kept.start, end=kept.end) for _ in range(2))
            session.commit()
        # Changed, so the sync applies it (an unchanged calendar is left as it is).
        server.serve("/work.ics", ics_text(Event("demo@contoso", "Prospect demo"),
                                           Event("later@contoso", "Workshop", hours_ago=-48)))
        synced = api.post(f"/api/v1/sources/{first}/sync").get_json()
        assert (synced["status"], synced["last_error"]) == ("ok", None)
        assert demo_sources(app) == [first, None, None]
        api.delete(f"/api/v1/sources/{first}")
        second = connect(api, url)
    assert demo_sources(app) == [second, None, None]


def demo_sources(app: Flask) -> list[int | None]:
    return [source for uid, _r, source, _i in stored(app) if uid == "demo@contoso"]


@pytest.fixture(params=SERVERS)
def dav(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CaldavServer]:
    yield from running(str(request.param), tmp_path, PASSWORD)


def connect_dav(session: Session, settings: Settings, user: User,
                server: CaldavServer) -> Source:
    """Connect the account; its first sync runs at once (the tests' inline queue)."""
    source = caldav_connect.connect(session, settings, session.get(User, user.id),
                                    url=server.base_url, username=server.username,
                                    password=server.password)
    session.expire_all()
    return source


def test_a_caldav_account_connected_again_asks_nothing_again(
        db_session: Session, settings: Settings, user: User, dav: CaldavServer) -> None:
    dav.put("work", "demo", ended_call("demo"))
    first = connect_dav(db_session, settings, user, dav)
    followup = plan(db_session, settings, user, days=3, note="Wants numbers")
    assert followup.write_status == "written", followup.write_error
    [demo] = db_session.scalars(select(Meeting))
    calendar = next(c for c, url in dav.calendars.items()
                    if url == first.options["calendar_written"])
    written = followups_in(dav, calendar)

    sources.delete_source(db_session, db_session.get(Source, first.id))
    second = connect_dav(db_session, settings, user, dav)

    assert [(m.id, m.source_id) for m in db_session.scalars(select(Meeting))] == [
        (demo.id, second.id)]
    assert [p.status for p in db_session.scalars(select(Prompt))] == [PromptStatus.ANSWERED]
    again = db_session.get(FollowUp, followup.id)
    assert again is not None
    assert (again.status, again.cancel_reason, again.start) == ("planned", None,
                                                                followup.start)
    assert followups_in(dav, calendar) == written  # its event, once

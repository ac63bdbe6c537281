"""Connecting a CalDAV account through the API, against real servers: refused passwords and
addresses, the first sync, the sealed password, and choosing the calendars."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import SourceStatus
from calsync.jobs import sync
from calsync.models import Meeting, Source, User
from calsync.services import caldav_connect
from calsync.services.credentials import seal_tokens, unseal_tokens
from tests.servers.caldav_servers import DEFAULT_CALENDAR, CaldavServer, tomorrow_call


def body(server: CaldavServer, **overrides: Any) -> dict[str, Any]:
    return {"kind": "caldav", "url": server.base_url, "username": server.username,
            "password": server.password, "name": "My CalDAV", **overrides}


def test_a_refused_password_names_app_specific_passwords(api: Any,
                                                         caldav_server: CaldavServer) -> None:
    response = api.post("/api/v1/sources", json=body(caldav_server, password="wrong"))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()
    assert "password" in str(error)
    assert "app-specific password" in str(error)
    assert api.get("/api/v1/sources").get_json()["items"] == []


def test_an_address_that_is_not_caldav_is_refused(api: Any, http_files: Any) -> None:
    response = api.post("/api/v1/sources", json={
        "kind": "caldav", "url": http_files.url("/calendar.ics"), "username": "ana",
        "password": "x"})
    assert response.status_code == 422
    assert "does not lead to a CalDAV server" in str(response.get_json())


def test_connect_syncs_seals_and_lets_the_user_choose(api: Any, app: Flask,
                                                      caldav_server: CaldavServer) -> None:
    caldav_server.put("work", "w1", tomorrow_call("w1", 9))
    caldav_server.put("personal", "p1", tomorrow_call("p1", 11))
    response = api.post("/api/v1/sources", json=body(caldav_server))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["kind"] == "caldav" and created["name"] == "My CalDAV"
    assert created["status"] == "ok", created
    with app.app_context(), get_db().session() as session:
        source = session.get(Source, created["id"])
        assert source is not None
        assert caldav_server.password.encode() not in repr(source.credentials).encode()
        assert unseal_tokens(app.extensions["calsync.settings"], source) == {
            "username": caldav_server.username, "password": caldav_server.password}
        options = source.options
        assert sorted(options["calendars_read"]) == sorted(caldav_server.calendars.values())
        default = caldav_server.calendars[DEFAULT_CALENDAR[caldav_server.kind]]
        assert options["calendar_written"] == default
        uids = set(session.scalars(select(Meeting.uid).where(Meeting.source_id == source.id)))
        assert uids == {"w1", "p1"}

    work = caldav_server.calendars["work"]
    refused = api.patch(f"/api/v1/sources/{created['id']}",
                        json={"calendars_read": [work], "calendar_written": "https://x.example/"})
    assert refused.status_code == 422 and "calendar_written" in str(refused.get_json())
    chosen = api.patch(f"/api/v1/sources/{created['id']}",
                       json={"calendars_read": [work], "calendar_written": work})
    assert chosen.status_code == 200, chosen.get_json()
    shown = chosen.get_json()  # what an API user reads back, and may PATCH again
    assert (shown["calendars_read"], shown["calendar_written"]) == ([work], work)
    with app.app_context(), get_db().session() as session:
        source = session.get(Source, created["id"])
        assert source is not None
        assert source.options["calendars_read"] == [work]
        assert source.options["calendar_written"] == work

    # Connecting the same account again replaces its password instead of adding a source.
    again = api.post("/api/v1/sources", json=body(caldav_server, name=""))
    assert again.status_code == 201 and again.get_json()["id"] == created["id"]
    assert len(api.get("/api/v1/sources").get_json()["items"]) == 1


def test_a_refused_password_asks_for_a_reconnection_that_mends_it(
        db_session: Session, settings: Settings, user: User,
        caldav_server: CaldavServer) -> None:
    caldav_server.put("work", "w1", tomorrow_call("w1", 9))
    owner = db_session.get(User, user.id)
    assert owner is not None
    source = caldav_connect.connect(db_session, settings, owner, url=caldav_server.base_url,
                                    username=caldav_server.username,
                                    password=caldav_server.password)
    # The password changed at the server (an app password revoked): the sync says so.
    seal_tokens(settings, source, {"username": caldav_server.username, "password": "old"})
    db_session.commit()
    report = sync.sync_source(db_session, settings, source.id)
    db_session.refresh(source)
    assert report.result != "ok"
    assert source.status == SourceStatus.NEEDS_RECONNECT
    assert "app-specific password" in (source.last_error or "")

    mended = caldav_connect.connect(db_session, settings, owner, url=caldav_server.base_url,
                                    username=caldav_server.username,
                                    password=caldav_server.password)
    assert mended.id == source.id and mended.status == SourceStatus.OK

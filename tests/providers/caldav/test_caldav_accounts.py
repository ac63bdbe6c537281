"""Which CalDAV account is which, and what calsync may do there, against real servers: two
accounts on one host, the password kept to the server typed and off plain http on the
internet, and calendars shared read-only."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from calsync import crypto
from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.errors import SourceError
from calsync.models import Source, User
from calsync.providers.base import SourceRef
from calsync.providers.caldav import CaldavProvider
from calsync.providers.caldav_discovery import discover
from calsync.providers.caldav_http import DavClient
from calsync.services import caldav_connect
from tests.conftest import PASSWORD, csrf_from
from tests.providers.caldav.test_caldav_provider import followup
from tests.servers.caldav_servers import SHARED, CaldavServer, running

PUBLIC = "http://93.184.215.14/dav/"  # a public address, literal: refused before any lookup


def started(kind: str, root: Path, *, shared: bool = False) -> Iterator[CaldavServer]:
    root.mkdir()
    yield from running(kind, root, PASSWORD, shared=shared)


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[CaldavServer]:
    yield from started("radicale", tmp_path / "radicale")


@pytest.fixture
def xandikos(tmp_path: Path) -> Iterator[CaldavServer]:
    yield from started("xandikos", tmp_path / "xandikos")


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[CaldavServer]:
    """A Radicale where ana's SHARED calendar is read-only to her."""
    yield from started("radicale", tmp_path / "shared", shared=True)


def account(server: CaldavServer, url: str) -> dict[str, str]:
    return {"kind": "caldav", "url": url, "username": server.username,
            "password": server.password}


def test_two_servers_on_one_host_are_two_accounts(api: Any, radicale: CaldavServer,
                                                  xandikos: CaldavServer) -> None:
    first = api.post("/api/v1/sources", json=account(radicale, radicale.base_url))
    other = api.post("/api/v1/sources", json=account(xandikos, xandikos.base_url))
    assert first.status_code == other.status_code == 201, other.get_json()
    assert first.get_json()["id"] != other.get_json()["id"]
    # The same account typed as its principal (or one calendar) is the source it already has.
    for url in (radicale.principal_url, radicale.calendars["work"]):
        again = api.post("/api/v1/sources", json=account(radicale, url))
        assert again.status_code in (200, 201), again.get_json()
        assert again.get_json()["id"] == first.get_json()["id"]
    assert len(api.get("/api/v1/sources").get_json()["items"]) == 2


def test_a_source_keyed_by_host_is_found_on_reconnecting(
        db_session: Session, settings: Settings, user: User, radicale: CaldavServer) -> None:
    owner = db_session.get(User, user.id)
    assert owner is not None
    old = Source(user_id=owner.id, kind="caldav", name="Old", url=radicale.base_url,
                 options={"account": f"{radicale.username}@127.0.0.1"}, cursor={}, warnings=[],
                 credentials=crypto.seal(settings, {"username": "ana", "password": "old"}))
    db_session.add(old)
    db_session.commit()
    mended = caldav_connect.connect(db_session, settings, owner, url=radicale.principal_url,
                                    username=radicale.username, password=radicale.password)
    assert mended.id == old.id and mended.status == SourceStatus.OK
    assert mended.options["account"] == "ana@" + radicale.principal_url.split("://")[1]


class Recorder(BaseHTTPRequestHandler):
    """Answers PROPFIND with `redirects[path]` (a 301) or a 404, noting the Authorization
    each request carried."""

    redirects: ClassVar[dict[str, str]] = {}
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_PROPFIND(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        location = self.redirects.get(self.path)
        self.send_response(301 if location else 404)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def recording() -> Iterator[tuple[int, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"redirects": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1]), handler
    server.shutdown()
    server.server_close()


recorder = pytest.fixture(recording)
other_port = pytest.fixture(recording)


def test_the_password_goes_only_to_the_server_typed(
        recorder: tuple[int, type[Recorder]], other_port: tuple[int, type[Recorder]],
        make_settings: Callable[..., Settings]) -> None:
    port, handler = recorder
    handler.redirects.update({"/here": "/landed", "/away": f"http://localhost:{port}/stolen",
                              "/port": f"http://127.0.0.1:{other_port[0]}/elsewhere"})
    client = DavClient(make_settings(), "ana", "s3cret")
    for path in ("/here", "/away", "/port"):
        client.request("PROPFIND", f"http://127.0.0.1:{port}{path}", follow=True)
    seen = dict(handler.seen + other_port[1].seen)
    assert seen["/here"] and seen["/landed"] == seen["/here"]  # the same origin: kept
    assert seen["/away"] and seen["/stolen"] == ""  # another host name: dropped
    assert seen["/port"] and seen["/elsewhere"] == ""  # another port: dropped


def test_no_password_over_plain_http_to_the_internet(
        api: Any, make_settings: Callable[..., Settings]) -> None:
    client = DavClient(make_settings(), "ana", "s3cret")
    with pytest.raises(SourceError, match="plain http") as refused:
        client.request("PROPFIND", PUBLIC)
    assert "https://" in refused.value.hint
    response = api.post("/api/v1/sources", json={"kind": "caldav", "url": PUBLIC,
                                                 "username": "ana", "password": "s3cret"})
    assert response.status_code == 422 and "plain http" in str(response.get_json())


def test_a_read_only_calendar_never_receives_followups(
        db_session: Session, settings: Settings, user: User, shared: CaldavServer,
        make_settings: Callable[..., Settings]) -> None:
    found = discover(DavClient(make_settings(), shared.username, shared.password),
                     shared.base_url)
    writable = {c.name: c.writable for c in found.calendars}
    assert writable == {"Shared": False, "Personal": True, "Work": True}
    assert found.default_url == shared.calendars["personal"]  # not the first, read-only one

    owner = db_session.get(User, user.id)
    assert owner is not None
    source = caldav_connect.connect(db_session, settings, owner, url=shared.base_url,
                                    username=shared.username, password=shared.password)
    options = source.options
    assert shared.calendars[SHARED] in options["calendars_read"]
    assert shared.calendars[SHARED] not in options["calendars_writable"]
    assert options["calendar_written"] == shared.calendars["personal"]

    # A follow-up aimed there anyway (chosen before the owner took the right away): the
    # message names the calendar, and the password is not blamed.
    provider = CaldavProvider(make_settings())
    ref = SourceRef(id=source.id, url=shared.base_url, options=options,
                    credentials={"username": shared.username, "password": shared.password})
    with pytest.raises(SourceError) as refused:
        provider.write_event(ref, followup(shared, calendar_id=shared.calendars[SHARED]))
    assert "may not add events to “Shared”" in refused.value.reason
    assert refused.value.status == SourceStatus.ERROR and not refused.value.transient



def test_one_principal_whatever_address_is_typed(caldav_server: CaldavServer,
                                                 make_settings: Callable[..., Settings]) -> None:
    client = DavClient(make_settings(), caldav_server.username, caldav_server.password)
    typed = (caldav_server.base_url, caldav_server.principal_url,
             caldav_server.calendars["work"])
    keys = {caldav_connect.account_key("ana", discover(client, url).principal_url)
            for url in typed}
    assert len(keys) == 1, keys


def test_a_read_only_calendar_cannot_be_picked_for_follow_ups_on_the_page(
        logged_in: FlaskClient, shared: CaldavServer) -> None:
    token = csrf_from(logged_in.get("/sources").get_data(as_text=True))
    added = logged_in.post("/sources/caldav", data={
        "url": shared.base_url, "username": shared.username,
        "password": shared.password, "name": "", "csrf_token": token})
    page = logged_in.get(added.headers["Location"]).get_data(as_text=True)
    read_only = shared.calendars[SHARED]
    radio = page.split(f'name="calendar_written" value="{read_only}"')[1].split(">")[0]
    assert "disabled" in radio and "(read-only)" in page
    work = shared.calendars["work"]
    assert "disabled" not in page.split(f'name="calendar_written" value="{work}"')[1].split(">")[0]

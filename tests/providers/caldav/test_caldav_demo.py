"""Demo mode's CalDAV server: `calsync caldav-demo` runs Radicale with the demo account and its
seeded Sales calendar; the Calendars page connects it in one click; only its exact address
passes the private-address check, and only for CalDAV."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from calsync import providers
from calsync.config import Settings
from calsync.domain.vocabulary import SourceStatus
from calsync.emulator.demo import MEETINGS
from calsync.errors import SourceError
from calsync.net.fetch import fetch
from calsync.providers.base import SourceRef
from calsync.providers.caldav_http import DavClient
from tests.conftest import csrf_from
from tests.servers.caldav_servers import _wait_listening, free_port
from tests.servers.http_files import FileServer
from tests.servers.processes import stop

CALSYNC = str(Path(sys.executable).parent / "calsync")


@dataclass
class Demo:
    url: str  # http://127.0.0.1:PORT/
    instance: Path
    username: str
    password: str


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """`calsync caldav-demo` on a free port, as `calsync run` starts it, once it has seeded."""
    port, instance = free_port(), tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALSYNC_")}
    env.update(CALSYNC_INSTANCE_PATH=str(instance), CALSYNC_CALDAV_DEMO="off")
    log = tmp_path / "caldav-demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen([CALSYNC, "caldav-demo", "--port", str(port)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, log)
        username, _, password = (instance / "caldav-demo" / "users").read_text().strip(
            ).partition(":")
        _wait_seeded(log)
        yield Demo(f"http://127.0.0.1:{port}/", instance, username, password)
    finally:
        stop(process)


def _wait_seeded(log: Path) -> None:
    # Radicale logs each stored item; the last meeting's PUT means the calendar is ready.
    deadline = time.monotonic() + 30
    while log.read_text().count("PUT response status") < len(MEETINGS):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo was not seeded: {log.read_text()[-2000:]}")
        time.sleep(0.05)


def guarded(demo: Demo, database_url: str = "") -> Settings:
    """Settings as `calsync run` hands its web and worker processes: the address guard on,
    the demo's address set."""
    return Settings.from_env({}, instance_path=demo.instance, database_url=database_url,
                             secret_key="test-secret", allow_private_urls=False,
                             caldav_demo=demo.url, queue_immediate=True, testing=True)


def test_the_command_serves_the_demo_account(demo: Demo) -> None:
    assert demo.username == "demo" and len(demo.password) >= 20
    provider = providers.load("caldav")(guarded(demo))
    calendars = provider.list_calendars(  # type: ignore[attr-defined]
        SourceRef(id=0, url=demo.url, credentials={"username": "demo",
                                                   "password": demo.password}))
    assert [(c["name"], c["default"]) for c in calendars] == [("Sales", True)]
    with pytest.raises(SourceError) as refused:
        provider.list_calendars(  # type: ignore[attr-defined]
            SourceRef(id=0, url=demo.url, credentials={"username": "demo", "password": "x"}))
    assert refused.value.status is SourceStatus.NEEDS_RECONNECT


def test_only_the_demo_address_passes_the_guard(demo: Demo, http_files: FileServer) -> None:
    settings = guarded(demo)
    client = DavClient(settings, "demo", demo.password)
    assert client.request("PROPFIND", demo.url, headers={"Depth": "0"}).status == 207
    port = int(demo.url.rsplit(":", 1)[1].strip("/"))
    others = [http_files.url("/x.ics"), f"http://localhost:{port}/",
              f"http://127.0.0.2:{port}/", f"http://[::1]:{port}/"]
    for other in others:
        with pytest.raises(SourceError, match="private or local networks"):
            client.request("PROPFIND", other, headers={"Depth": "0"})
    # The exemption is the CalDAV client's: an ICS fetch of the same address is refused.
    with pytest.raises(SourceError, match="private or local networks"):
        fetch(demo.url, settings)


@pytest.fixture
def settings(demo: Demo, database_url: str) -> Settings:
    return guarded(demo, database_url)


def test_the_page_connects_the_demo_in_one_click(demo: Demo, logged_in: FlaskClient) -> None:
    page = logged_in.get("/sources").get_data(as_text=True)
    assert "Connect the demo CalDAV calendar" in page
    assert demo.password not in page
    response = logged_in.post("/sources/caldav-demo", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    source_page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{len(MEETINGS)} meetings read" in source_page
    assert "Follow-ups go to “Sales”" in source_page
    inbox = logged_in.get("/").get_data(as_text=True)
    ended = [title for days, _s, _m, title, _g in MEETINGS if days < 0]
    assert ended and all(title in inbox for title in ended), [t for t in ended if t not in inbox]

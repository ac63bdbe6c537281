"""Demo mode's CalDAV server: `calsync caldav-demo` runs Radicale with the demo account and its
seeded Sales calendar; the Calendars page connects it in one click; only its exact address
passes the private-address check, and only for CalDAV."""

from __future__ import annotations

import os
import subprocess
import uuid
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
from tests.servers.caldav_demo_server import CALSYNC, Demo, demo, guarded
from tests.servers.caldav_servers import free_port
from tests.servers.http_files import FileServer
from tests.servers.processes import stop
from tests.test_cli import call, wait_for

__all__ = ["demo"]  # the fixture, used by name


def test_the_command_serves_the_demo_account(demo: Demo) -> None:
    assert demo.username == "demo" and len(demo.password) >= 20
    assert (demo.instance / "caldav-demo" / "users").stat().st_mode & 0o077 == 0
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


def test_calsync_run_starts_the_demo_for_web_and_worker(tmp_path: Path,
                                                        database_url: str) -> None:
    """`calsync run` with the address guard on: the API connects the demo account through
    the web process, the worker syncs it, and the next run keeps the demo's port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALSYNC_", "DATABASE_"))}
    env.pop("REDIS_URL", None)
    env.update(CALSYNC_INSTANCE_PATH=str(tmp_path / "instance"), SECRET_KEY="demo-test",
               DATABASE_URL=database_url, CALSYNC_QUEUE_NAME=f"demo-{uuid.uuid4().hex}",
               CALSYNC_GOOGLE_API_ENDPOINT="http://127.0.0.1:9/")  # no Google emulator
    for args in (["db", "upgrade"], ["users", "create", "rep@acme-sales.com", "--no-password"]):
        subprocess.run([CALSYNC, *args], env=env, check=True, capture_output=True, timeout=60)
    token = subprocess.run([CALSYNC, "tokens", "create", "rep@acme-sales.com"], env=env,
                           check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    first = run_and_connect(env, token, tmp_path)
    assert run_and_connect(env, token, tmp_path) == first


def run_and_connect(env: dict[str, str], token: str, tmp_path: Path) -> str:
    """One `calsync run`: the demo account connected through the API and synced by the
    worker; returns the demo server's port."""
    folder, port = tmp_path / "instance" / "caldav-demo", free_port()
    process = subprocess.Popen([CALSYNC, "run", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: call(f"{base}/healthz")["status"] == "ok")
        wait_for(lambda: (folder / "users").exists())
        demo_port = (folder / "port").read_text()
        username, _, password = (folder / "users").read_text().strip().partition(":")
        demo_url = f"http://127.0.0.1:{demo_port}/"
        client = DavClient(Settings.from_env({}, instance_path=tmp_path / "probe",
                                             caldav_demo=demo_url), username, password)
        wait_for(lambda: client.request("PROPFIND", f"{demo_url}demo/sales/",
                                        headers={"Depth": "1"}).body.count(b".ics</")
                 == len(MEETINGS))
        created = call(f"{base}/api/v1/sources", token, {
            "kind": "caldav", "url": demo_url, "username": username, "password": password})
        wait_for(lambda: call(f"{base}/api/v1/sources/{created['id']}", token)["status"]
                 == "ok")
    finally:
        stop(process)
    assert process.returncode == 0
    return demo_port

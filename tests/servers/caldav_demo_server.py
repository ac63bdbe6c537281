"""The demo CalDAV server as `calsync run` starts it (`calsync caldav-demo`), for tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from calsync.config import Settings
from calsync.emulator.demo import MEETINGS
from tests.servers.caldav_servers import _wait_listening, free_port
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

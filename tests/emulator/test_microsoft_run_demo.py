"""Demo mode in `calsync run`: with no Microsoft client configured it starts the Microsoft
emulator beside web and worker, and a person connects its demo account from the Calendars
page, the consent page served over plain HTTP, calsync's own calls over verified TLS."""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from calsync.emulator.microsoft.demo import DEMO_EMAIL
from tests import databases
from tests.conftest import PASSWORD, csrf_from
from tests.servers.caldav_servers import free_port

CALSYNC = str(Path(sys.executable).parent / "calsync")
EMAIL = "rep@acme-sales.com"


@pytest.fixture
def run_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """`calsync run`'s environment: no Microsoft settings at all, Google pointed away (no
    Google emulator), no CalDAV demo; this test's database."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CALSYNC_", "DATABASE_", "MICROSOFT_", "REDIS_"))}
    env.update(CALSYNC_INSTANCE_PATH=str(tmp_path / "instance"), SECRET_KEY="demo-test",
               DATABASE_URL=database_url, CALSYNC_QUEUE_NAME=f"demo-{uuid.uuid4().hex}",
               CALSYNC_LOG_FORMAT="text", CALSYNC_GOOGLE_API_ENDPOINT="http://127.0.0.1:9/",
               CALSYNC_CALDAV_DEMO="off")
    if databases.REDIS_URL:
        env["REDIS_URL"] = databases.REDIS_URL
    if "CALSYNC_LOG_FILE" in os.environ:  # the test run's log, checked for secrets at its end
        env["CALSYNC_LOG_FILE"] = os.environ["CALSYNC_LOG_FILE"]
    for command in (["db", "upgrade"], ["users", "create", EMAIL, "--password", PASSWORD]):
        subprocess.run([CALSYNC, *command], env=env, check=True, capture_output=True,
                       timeout=60)
    return env


def eventually(check: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or its workers still importing calsync
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.3)


def test_run_connects_the_demo_microsoft_account(run_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out = tmp_path / "run.log"
    with out.open("wb") as log:
        process = subprocess.Popen([CALSYNC, "run", "--port", str(port)], env=run_env,
                                   stdout=log, stderr=subprocess.STDOUT)
    browser = requests.Session()
    browser.trust_env = False  # loopback, never a proxy
    try:
        eventually(lambda: browser.get(base + "/healthz", timeout=10).ok)
        login = browser.get(base + "/login", timeout=10).text
        assert "Sign in with Microsoft" in login  # the emulator stands in: it can answer
        assert browser.post(base + "/login", timeout=10, data={
            "email": EMAIL, "password": PASSWORD, "csrf_token": csrf_from(login)}).ok

        token = csrf_from(browser.get(base + "/sources", timeout=10).text)
        started = browser.post(base + "/microsoft/connect", data={"csrf_token": token},
                               allow_redirects=False, timeout=30)
        assert started.status_code == 302, started.text[:500]
        consent_url = started.headers["Location"]
        # The one page a person's browser opens is plain HTTP: no certificate warning.
        assert consent_url.startswith("http://127.0.0.1:"), consent_url
        assert urlsplit(consent_url).path == "/common/oauth2/v2.0/authorize"
        page = browser.get(consent_url, timeout=10).text
        assert DEMO_EMAIL in page
        fields = {name: html.unescape(value) for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}
        back = browser.post(consent_url.split("?")[0], data={**fields, "decision": "allow"},
                            allow_redirects=False, timeout=10)
        assert back.status_code == 302 and back.headers["Location"].startswith(
            base + "/microsoft/callback?"), back.text[:500]
        # calsync redeems the code with msal over TLS, the emulator's CA from the CA file.
        done = browser.get(back.headers["Location"], allow_redirects=False, timeout=60)
        assert done.status_code == 302, done.text[:800]
        source_page = browser.get(base + done.headers["Location"], timeout=10).text
        assert "Microsoft 365 / Outlook" in source_page and DEMO_EMAIL in source_page
        assert (Path(run_env["CALSYNC_INSTANCE_PATH"]) / "microsoft-emulator-ca.pem").exists()
        picker = re.search(r'href="(/microsoft/sources/\d+/calendars)"', source_page)
        assert picker, source_page[-3000:]
        calendars = browser.get(base + picker.group(1), timeout=30).text
        assert "Calendar" in calendars and "Sales team" in calendars
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0, out.read_text()[-3000:]
    assert "Demo mode: Microsoft 365 / Outlook is the bundled emulator" in out.read_text()

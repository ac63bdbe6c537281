"""Microsoft 365 in Chromium when things go wrong, at 1280 and 390 px, in demo mode: the
consent page keeps its promise about the browser's zone, cancelling there lands on a page of
its own, and a calendar deleted in Outlook pauses the source with a way back through the
picker."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.emulator.microsoft.demo import DEMO_EMAIL, seed
from calsync.models import Meeting
from tests.browser.conftest import account, fits, sign_in
from tests.browser.pages import microsoft_consent
from tests.servers.live_app import LiveServer
from tests.servers.serving import serving

EMAIL = "rep@acme-sales.com"
Served = tuple[str, Flask, MicrosoftEmulator]


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    """calsync in Microsoft demo mode against an emulator seeded in Berlin, as `calsync run`
    starts it; the emulator is the test's, to change the demo account as in Outlook."""
    live = LiveServer()
    with MicrosoftEmulator(accept_any_client=True, browser_port=0) as microsoft:
        seed(microsoft, zone="Europe/Berlin")
        app = create_app(dataclasses.replace(
            settings, base_url=live.url, microsoft_client_id="", microsoft_client_secret="",
            microsoft_authority_host=microsoft.authority_host,
            microsoft_graph_endpoint=microsoft.graph_endpoint,
            microsoft_ca_bundle=str(microsoft.ca_path), microsoft_webhooks="off"))
        account(app, EMAIL, "America/Chicago")
        with serving(app, live) as (url, _):
            yield url, app, microsoft


def to_consent(page: Page, url: str) -> None:
    """Signed in, from the Calendars page to the emulator's consent page."""
    sign_in(page, url, EMAIL)
    page.goto(f"{url}/sources")
    microsoft_consent(page, url)


def meeting_starts(app: Flask, zone: str) -> list[time]:
    with app.app_context(), get_db().session() as session:
        return [m.start.astimezone(ZoneInfo(zone)).time()
                for m in session.scalars(select(Meeting))]


@pytest.mark.parametrize("width", [1280, 390])
def test_cancelling_at_microsoft_has_its_own_page(served: Served, page: Page,
                                                  width: int) -> None:
    url, _app, _microsoft = served
    page.set_viewport_size({"width": width, "height": 900})
    to_consent(page, url)
    page.click("button[value=deny]")
    page.wait_for_url(re.compile(rf"{url}/microsoft/callback"))
    assert page.inner_text("h1") == "Microsoft didn't connect"
    assert page.title().startswith("Microsoft didn't connect")
    assert "You cancelled at Microsoft" in page.inner_text("main")
    fits(page, "microsoft-cancelled")
    page.click("text=Back to your calendars")
    page.wait_for_url(f"{url}/sources")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_demo_is_placed_in_the_browsers_zone_and_a_deleted_calendar_pauses_it(
        served: Served, page: Page, width: int) -> None:
    url, app, microsoft = served
    page.set_viewport_size({"width": width, "height": 900})
    to_consent(page, url)
    assert page.inner_text("#zone-shown") == "America/Chicago"  # the page's own promise
    fits(page, "microsoft-consent-zone")
    page.click("button.allow")
    page.wait_for_url(re.compile(rf"{url}/sources/\d+$"))
    starts = meeting_starts(app, "America/Chicago")
    assert starts and all(time(9) <= s < time(17) for s in starts), starts

    team = microsoft.calendar_ids(DEMO_EMAIL)[1]
    page.click("text=Choose which calendars are read")
    page.locator("#calendars tbody tr").nth(1).locator("input[type=checkbox]").check()
    page.locator("#calendars tbody tr").nth(1).locator("input[type=radio]").check()
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(rf"{url}/sources/\d+$"))
    source_url = page.url

    microsoft.delete_calendar(team)  # in Outlook
    page.click("button:has-text('Sync now')")
    page.wait_for_selector("#calendars-hint")
    assert "a calendar it used is gone" in page.inner_text("#calendars-hint")
    assert "disconnected" not in page.inner_text("main")
    fits(page, "microsoft-calendar-gone")

    page.click("a:has-text('Choose calendars')")
    page.wait_for_selector("#picker-paused")
    assert "no longer exists" in page.inner_text("#picker-paused")
    fits(page, "microsoft-picker-paused")
    rows = page.locator("#calendars tbody tr")  # as Graph lists them now: "Sales team" gone
    assert rows.count() == 1 and "Sales team" not in page.inner_text("#calendars")
    rows.nth(0).locator("input[type=checkbox]").check()
    rows.nth(0).locator("input[type=radio]").check()
    page.click("button:has-text('Save')")
    page.wait_for_url(source_url)
    assert page.locator("#calendars-hint").count() == 0
    assert page.inner_text("#calendars-read") == "Calendar"
    assert page.inner_text("h1 .badge") == "OK"
    fits(page, "microsoft-resumed")
    page.click("text=Choose which calendars are read")
    page.wait_for_selector("#calendars")
    assert page.locator("#calendars tbody tr").count() == 1  # as Graph lists them now

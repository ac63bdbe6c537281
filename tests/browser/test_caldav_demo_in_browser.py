"""Demo mode's CalDAV offer in Chromium at 1280 and 390 px: the Calendars page's button connects
the bundled Radicale's Sales calendar and lands on it with its meetings read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page

from calsync.config import Settings
from calsync.emulator.demo import MEETINGS
from tests.browser.conftest import account, fits, serve, sign_in
from tests.servers.caldav_demo_server import Demo, demo, guarded

__all__ = ["demo"]  # the fixture, used by name


@pytest.fixture
def settings(demo: Demo, database_url: str) -> Settings:
    return guarded(demo, database_url)


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, Flask]]:
    yield from serve(settings)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_demo_calendar_connects_in_one_click(page: Page, live: tuple[str, Flask],
                                                 width: int) -> None:
    url, app = live
    account(app, "rep@acme-sales.com", "America/Chicago")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, url, "rep@acme-sales.com")
    page.goto(f"{url}/sources")
    assert page.locator("#caldav-demo").is_visible()
    fits(page, "caldav-demo-offer")
    page.get_by_role("button", name="Connect the demo CalDAV calendar").click()
    page.wait_for_url(f"{url}/sources/*")
    assert f"{len(MEETINGS)} meetings read" in page.inner_text("body")
    fits(page, "caldav-demo-connected")

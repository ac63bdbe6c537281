"""Microsoft 365 in Chromium at 1280 and 390 px, in demo mode as `calsync run` sets it up:
the Calendars page's Microsoft card, connecting through the emulator's consent page (plain
HTTP), the Microsoft source's page and its calendar picker, no sideways scrolling."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.emulator.microsoft.demo import DEMO_EMAIL, seed
from calsync.services import accounts
from tests.browser.conftest import fits, sign_in
from tests.browser.pages import microsoft_consent
from tests.conftest import PASSWORD
from tests.servers.live_app import LiveServer
from tests.servers.serving import serving

EMAIL = "rep@acme-sales.com"

# msal recommends form_post; calsync's callback takes the query Microsoft also supports.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post':UserWarning")


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, Flask]]:
    """calsync in Microsoft demo mode: no client id, the emulator (seeded as the demo is)
    trusted through its CA file, its consent page on a plain-HTTP port."""
    live = LiveServer()
    with MicrosoftEmulator(accept_any_client=True, browser_port=0) as microsoft:
        seed(microsoft)
        app = create_app(dataclasses.replace(
            settings, base_url=live.url, microsoft_client_id="", microsoft_client_secret="",
            microsoft_authority_host=microsoft.authority_host,
            microsoft_graph_endpoint=microsoft.graph_endpoint,
            microsoft_ca_bundle=str(microsoft.ca_path), microsoft_webhooks="off"))
        with app.app_context(), get_db().session() as session:
            accounts.create_user(session, EMAIL, PASSWORD, "America/Chicago")
            session.commit()
        with serving(app, live) as served:
            yield served


@pytest.mark.parametrize("width", [1280, 390])
def test_connect_the_demo_account_and_choose_its_calendars(
        served: tuple[str, Flask], page: Page, width: int) -> None:
    url, _app = served
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{url}/login")
    assert page.locator("#microsoft-signin button").inner_text() == "Sign in with Microsoft"
    fits(page, "signin-microsoft")
    sign_in(page, url, EMAIL)

    page.goto(f"{url}/sources")
    card = page.locator("#microsoft")
    assert "Demo mode" in card.inner_text()
    card.scroll_into_view_if_needed()
    fits(page, "sources-microsoft-card")

    microsoft_consent(page, url)  # the emulator's page, over plain HTTP
    assert page.url.startswith("http://127.0.0.1:") and DEMO_EMAIL in page.inner_text("body")
    page.click("button.allow")
    page.wait_for_url(re.compile(rf"{url}/sources/\d+$"))
    facts = page.inner_text("dl.facts")
    assert "Microsoft 365 / Outlook" in facts and DEMO_EMAIL in facts
    assert page.inner_text("#calendars-read") == "Calendar"
    assert page.inner_text("#calendar-written") == "Calendar"
    assert "Disconnect Microsoft" in page.inner_text("main")
    fits(page, "source-microsoft")

    page.click("text=Choose which calendars are read")
    page.wait_for_selector("#calendars")
    assert page.get_attribute("#calendars", "aria-label") == "Your Microsoft calendars"
    rows = page.locator("#calendars tbody tr")
    assert rows.count() == 2 and "(default)" in rows.nth(0).inner_text()
    fits(page, "picker-microsoft")
    rows.nth(1).locator("input[type=checkbox]").check()
    rows.nth(1).locator("input[type=radio]").check()
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(rf"{url}/sources/\d+$"))
    assert page.inner_text("#calendars-read") == "Calendar, Sales team"
    assert page.inner_text("#calendar-written") == "Sales team"

    page.goto(f"{url}/sources")
    row = page.locator("table.sources tbody tr").first
    assert "Microsoft 365 / Outlook" in row.inner_text()
    fits(page, "sources-microsoft-listed")


def test_the_connect_button_reaches_the_consent_page(served: tuple[str, Flask],
                                                     page: Page) -> None:
    url, _app = served
    sign_in(page, url, EMAIL)
    page.goto(f"{url}/sources")
    page.click("#microsoft button:has-text('Connect Microsoft 365 / Outlook')")
    page.wait_for_selector("button.allow", timeout=10_000)

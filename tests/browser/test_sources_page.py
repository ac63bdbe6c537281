"""Calendars, the feed and the Google demo in Chromium at 1280 and 390 px (issue 10 items 5,
14, 15, 17): an address that is not a calendar refused beside the field with the address
kept, a good one landing with its prompts, the feed's one-click subscription and Copy link,
the demo's consent screen and its two calendars, no sideways scrolling on any of them."""

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
from calsync.emulator import GoogleEmulator, demo
from calsync.models import Meeting, Source, User
from calsync.services import accounts
from calsync.services.samples import sample_ics
from tests.browser.conftest import ARTIFACTS, fits, sign_in
from tests.conftest import PASSWORD
from tests.servers.http_files import FileServer
from tests.servers.live_app import LiveServer

EMAIL = "rep@acme-sales.com"
ZONE = "America/Chicago"  # the browser's (tests/browser/conftest.py), and the user's


@dataclasses.dataclass
class Served:
    url: str
    app: Flask
    feeds: FileServer


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    """calsync in Google demo mode (no client id: the bundled emulator, seeded as the demo
    is), with a loopback server for calendar feeds."""
    live = LiveServer()
    with GoogleEmulator(accept_any_client=True) as google, FileServer() as feeds:
        demo.seed(google)  # Berlin until the consent page says the browser's zone
        app = create_app(dataclasses.replace(
            settings, base_url=live.url, google_client_id="", google_client_secret="",
            google_api_endpoint=google.api_endpoint, google_auth_uri=google.auth_uri,
            google_token_uri=google.token_uri, google_revoke_uri=google.revoke_uri,
            google_webhooks="off"))
        live.serve(app)
        with app.app_context(), get_db().session() as session:
            accounts.create_user(session, EMAIL, PASSWORD, ZONE)
            session.commit()
        try:
            yield Served(live.url, app, feeds)
        finally:
            live.stop()
            with app.app_context():
                get_db().dispose()



def the_user(app: Flask) -> User:
    with app.app_context(), get_db().session() as session:
        user = session.scalar(select(User).where(User.email == EMAIL))
        assert user is not None
        session.expunge(user)
        return user


@pytest.mark.parametrize("width", [1280, 390])
def test_calendars_feed_and_google_demo(served: Served, page: Page, width: int) -> None:
    url, app = served.url, served.app
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, url, EMAIL)

    # An address that is a web page: refused beside the field, the address kept.
    web_page = served.feeds.serve("/calendar", "<!DOCTYPE html><html><body>Log in</body></html>",
                                  content_type="text/html; charset=utf-8")
    page.goto(f"{url}/sources")
    fits(page)
    page.fill("#url", web_page)
    page.click("#add-url button[type=submit]")
    error = page.locator("#url-error")
    assert "This is a web page, not a calendar: it starts with “<!DOCTYPE html>" in (
        error.inner_text())
    assert "Use the calendar's iCal (ICS) address" in error.inner_text()
    assert page.input_value("#url") == web_page
    assert page.get_attribute("#url", "aria-invalid") == "true"
    fits(page)
    page.locator("#add-url").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"sources-refused-{width}.png"))

    # A real calendar: added, and its prompts are in the inbox straight away.
    good = served.feeds.serve("/team.ics", sample_ics(the_user(app)))
    page.fill("#url", good)
    page.fill("#url-name", "Team calendar")
    page.click("#add-url button[type=submit]")
    page.wait_for_url(re.compile(rf"{url}/sources/\d+$"))
    assert "meetings read" in page.inner_text("main")
    fits(page)
    page.goto(f"{url}/")
    assert "Product demo for Contoso" in page.inner_text("main")
    page.goto(f"{url}/sources")  # the list: one card per calendar on a phone
    assert "Team calendar" in page.inner_text("table.sources")
    fits(page)
    page.screenshot(path=str(ARTIFACTS / f"sources-list-{width}.png"))

    # The feed: one click to Google, to a calendar app, or to the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page.goto(f"{url}/settings#feed")
    webcal = page.input_value("#feed-webcal")
    assert webcal.startswith("webcal://127.0.0.1:") and webcal.endswith(".ics")
    assert page.get_attribute("#feed-open", "href") == webcal
    google_link = page.get_attribute("#feed-google", "href")
    assert google_link is not None
    assert google_link.startswith("https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F")
    copy = page.locator("#feed-copy")
    assert copy.is_visible()  # shown by the script
    copy.click()
    page.wait_for_function(
        "() => document.querySelector('#feed-copied').textContent.startsWith('Copied')")
    assert copy.inner_text() == "Copied"
    assert page.evaluate("() => navigator.clipboard.readText()") == webcal
    fits(page)
    page.locator("#feed").screenshot(path=str(ARTIFACTS / f"feed-subscribe-{width}.png"))

    # The Google demo: the consent screen says it is one, then the calendar picker.
    page.goto(f"{url}/sources")
    page.click("button:has-text('Connect Google Calendar')")
    page.wait_for_selector("#demo-note")
    note = " ".join(page.inner_text("#demo-note").split())
    assert "This is a demo." in note and "no Google account is used" in note
    assert page.inner_text("#zone-shown") == ZONE  # the browser's zone, filled by its script
    fits(page)
    page.screenshot(path=str(ARTIFACTS / f"google-consent-{width}.png"))
    page.click("button:has-text('Allow')")
    page.wait_for_url(re.compile(rf"{url}/sources/\d+$"))
    page.click("text=Choose which calendars are read")
    picker = page.inner_text("main")
    assert "Work" in picker and "Sales team" in picker
    fits(page)
    page.screenshot(path=str(ARTIFACTS / f"google-picker-{width}.png"), full_page=True)

    # Follow-ups now go to the Work calendar: subscribing there too is warned against.
    page.goto(f"{url}/settings#feed")
    assert ("Your follow-ups are already written to your calendar “Work”: subscribing "
            "there too would show each one twice.") in page.inner_text("#feed-twice")

    # The demo's meetings, read by calsync, fall on weekdays in working hours in our zone.
    with app.app_context(), get_db().session() as session:
        google_source = session.scalar(select(Source).where(Source.kind == "google"))
        assert google_source is not None
        starts = list(session.scalars(select(Meeting.start).where(
            Meeting.source_id == google_source.id)))
    assert starts
    for start in starts:
        local = start.astimezone(ZoneInfo(ZONE))
        assert local.weekday() < 5 and time(9) <= local.time() < time(17), local

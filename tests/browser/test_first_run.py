"""The first run, in a real browser (Debian's Chromium via Playwright): sign up with the
browser's time zone, load the sample calendar, answer a prompt, find the feed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests
from flask import Flask
from playwright.sync_api import Page

from calsync.app import create_app
from calsync.config import Settings
from tests.conftest import PASSWORD
from tests.servers.live_app import LiveServer


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    live = LiveServer()
    app: Flask = create_app(replace(settings, base_url=live.url))
    live.serve(app)
    yield live.url
    live.stop()


def test_first_run_from_sign_up_to_feed(served: str, page: Page) -> None:
    page.goto(f"{served}/signup")
    assert page.input_value("select[name=timezone]") == "America/Chicago"  # the browser's
    page.fill("input[name=email]", "rep@acme-sales.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.click("button:has-text('Try it with a sample calendar')")

    cards = page.locator("form[action$='/answer']")
    assert cards.count() >= 3, page.content()[:2000]
    assert "Pipeline review" not in page.inner_text("main")  # internal: never prompted
    first = cards.first
    first.locator("input[name=summary]").fill("Send the pilot proposal")
    first.locator("textarea[name=note]").fill("Keen; wants numbers by Friday")
    first.locator("button:has-text('Plan next step')").click()
    assert "Next step planned" in page.inner_text("main")
    assert cards.count() >= 2

    page.goto(f"{served}/settings")
    feed = page.get_attribute("#feed-url", "href")
    assert feed and re.match(rf"{served}/feed/[\w-]+\.ics$", feed)
    body = requests.get(feed, timeout=10)
    assert body.status_code == 200 and "Send the pilot proposal" in body.text
    assert "TZID=America/Chicago" in body.text

"""The first run, in a real browser (Debian's Chromium via Playwright): sign up with the
browser's time zone, load the sample calendar, answer a prompt, find the feed. Screenshots
go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests
from playwright.sync_api import Page, Response

from calsync.config import Settings
from tests.browser.conftest import ARTIFACTS, serve
from tests.conftest import PASSWORD


def _serve(settings: Settings) -> Iterator[str]:
    for url, _app in serve(settings):
        yield url


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    yield from _serve(settings)


@pytest.fixture
def served_with_a_worker(settings: Settings) -> Iterator[str]:
    """calsync as deployed: jobs wait in the queue for a worker (none runs here)."""
    yield from _serve(replace(settings, queue_immediate=False))


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
    page.locator("article.row").first.locator(":scope > details > summary").click()  # opens it
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


@pytest.mark.parametrize("width", [1280, 390])
def test_the_sample_fills_the_inbox_at_once_and_leaves_the_user_out(
        served_with_a_worker: str, page: Page, width: int) -> None:
    url = served_with_a_worker
    failed: list[str] = []

    def watch(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", watch)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{url}/signup")
    icon = page.get_attribute("link[rel=icon]", "href")
    assert icon and icon.endswith(".svg")
    favicon = requests.get(f"{url}{icon}", timeout=10)
    assert favicon.status_code == 200 and favicon.headers["Content-Type"].startswith(
        "image/svg+xml")
    page.fill("input[name=email]", "rep@acme-sales.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.click("button:has-text('Try it with a sample calendar')")

    # No reload: the redirect lands on an inbox that has the sample's prompts.
    main = page.inner_text("main")
    for title in ("Northwind discovery call", "Product demo for Contoso",
                  "Fabrikam pricing discussion"):
        assert title in main
    people = page.locator("p.people").all_inner_texts()
    assert people and not [p for p in people if "rep@acme-sales.com" in p]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"sample-inbox-{width}.png"), full_page=True)

    page.goto(f"{url}/sources")
    assert "Sample sales week" in page.inner_text("main")
    assert page.locator("button:has-text('Try it with a sample calendar')").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"sources-with-sample-{width}.png"), full_page=True)
    assert not failed, failed

"""Answering in a real browser (Debian's Chromium via Playwright), at 1280 and 390 px: a date
in the past is refused with every field kept, a note survives snooze and "it didn't happen",
and an answer from a stale tab asks before replacing. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page

from calsync.config import Settings
from tests.browser.conftest import fits, serve
from tests.conftest import PASSWORD


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    for url, _app in serve(settings):
        yield url


def _sign_up_with_the_sample(page: Page, url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{url}/signup")
    page.fill("input[name=email]", "rep@acme-sales.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.click("button:has-text('Try it with a sample calendar')")


def _card(page: Page, title: str) -> Locator:
    """The inbox's row of `title`, opened (its answer form opens in place)."""
    card = page.locator("article.prompt", has_text=title)
    if card.locator(":scope > details:not([open])").count():
        card.locator(":scope > details > summary").click()
    return card



@pytest.mark.parametrize("width", [1280, 390])
def test_nothing_typed_is_lost_and_nothing_wrong_accepted(served: str, browser: Browser,
                                                          width: int) -> None:
    context = browser.new_context(timezone_id="America/Chicago", locale="en-US")
    page = context.new_page()
    _sign_up_with_the_sample(page, served, width)

    # A next step dated in the past: refused beside its field, everything kept.
    card = _card(page, "Northwind discovery call")
    answer_path = card.locator("form[action$='/answer']").get_attribute("action") or ""
    card.locator("input[name=summary]").fill("Send the pilot proposal")
    card.locator("input[name=date]").fill("2020-01-06")
    card.locator("textarea[name=note]").fill("Keen; wants numbers by Friday")
    card.locator("button:has-text('Plan next step')").click()
    assert "That time has already passed" in page.inner_text("main")
    assert page.input_value("input[name=date]") == "2020-01-06"
    assert page.input_value("input[name=summary]") == "Send the pilot proposal"
    assert page.input_value("textarea[name=note]") == "Keen; wants numbers by Friday"
    fits(page, "prompt-past-date")

    # Snooze posts the note with it; the prompt keeps it.
    page.click("button:has-text('1 hour')")
    assert "Snoozed" in page.inner_text("main")
    page.goto(served + answer_path.removesuffix("/answer"))
    assert page.input_value("textarea[name=note]") == "Keen; wants numbers by Friday"

    # "It didn't happen" without a time: refused, the box stays open, the note stays.
    page.goto(served)
    card = _card(page, "Product demo for Contoso")
    card.locator("textarea[name=note]").fill("They were ill")
    card.locator("summary:has-text(\"didn't happen\")").click()
    card.locator("input[name=reschedule_date]").fill("2031-01-06")
    card.locator("button:has-text('Reschedule')").click()
    assert "give both a date and a time" in page.inner_text("main")
    assert page.locator("details[open]").count() == 1
    assert page.input_value("input[name=reschedule_date]") == "2031-01-06"
    assert page.input_value("textarea[name=note]") == "They were ill"
    fits(page, "prompt-reschedule-refused")

    # Two tabs: the second answers first; the first is asked before replacing it.
    page.goto(served)
    other = context.new_page()
    other.set_viewport_size({"width": width, "height": 900})
    other.goto(served)
    _card(other, "Fabrikam pricing discussion").locator("button.yes").click()
    assert "marked as a yes" in other.inner_text("main")
    card = _card(page, "Fabrikam pricing discussion")
    card.locator("textarea[name=note]").fill("They chose a rival")
    card.locator("button.no").click()
    warning = page.locator("#already-answered")
    assert re.search(r"Already answered: Yes .* at .+ — change it\?", warning.inner_text())
    assert page.input_value("textarea[name=note]") == "They chose a rival"
    fits(page, "prompt-already-answered")
    page.locator("form[action$='/answer'] button.no").click()
    assert "marked as a no" in page.inner_text("main")
    context.close()

"""/deals, a deal and the prompt page's deal picker in a real browser (Debian's Chromium via
Playwright) at 1280 and 390 px: the list sorted by next follow-up with the overdue one
highlighted, searched; a deal renamed; a touch moved to a deal found by typing; nothing
scrolls sideways and the CSP blocks nothing. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, expect

from calsync.db import get_db
from calsync.models import User
from tests.browser.conftest import fits
from tests.browser.pages import at_width, signed_in
from tests.test_deals_list import Spec, make_deals
from tests.web.conftest import Seed, seed_meetings


def seed(app: Flask, user: User) -> dict[str, int]:
    """Deals with history (one overdue), and two meetings waiting for an answer."""
    with app.app_context(), get_db().session() as session:
        make_deals(session, session.get(User, user.id),  # type: ignore[arg-type]
                   Spec("Alpha Logistics", touches=(20, 9), next_in=-2, title="Alpha kickoff"),
                   Spec("Bravo", touches=(3,), next_in=5,
                        attendees=(("kim@bravo.example", "Kim Lee"),)),
                   Spec("Charlie Health", touches=(30, 15, 1), next_in=1),
                   Spec("Delta Foods", touches=(40,)))
    return seed_meetings(app, user,
                         Seed("Northwind discovery call", hours_ago=50),
                         Seed("Contoso demo", hours_ago=26,
                              attendees=("lena@sales.contoso-pharma.co.uk",)))



@pytest.mark.parametrize("width", [1280, 390])
def test_deals_sorted_searched_renamed_and_a_touch_moved_by_the_picker(
        live_app: tuple[str, Flask], page: Page, width: int,
        make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    prompts = seed(app, user)
    complaints: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            complaints.append(message.text)

    page.on("console", watch)
    signed_in(at_width(page, width), url, user)

    # The list: next follow-up first, the overdue one first and highlighted.
    page.goto(f"{url}/deals")
    rows = page.locator("tr.deal-row")
    expect(rows.first).to_have_class("deal-row overdue")
    assert rows.first.locator("th a").inner_text() == "Alpha Logistics"
    expect(rows.first.locator(".badge.overdue")).to_have_text("overdue")
    assert [rows.nth(i).locator("th a").inner_text() for i in range(3)] == [
        "Alpha Logistics", "Charlie Health", "Bravo"]
    assert page.locator("tr.overdue").count() == 1
    # The deal made from the meeting with sales.contoso-pharma.co.uk is named like the company.
    expect(page.locator("tr.deal-row th a", has_text="Contoso Pharma")).to_have_count(1)
    fits(page, "deals")

    # Another order, chosen from the select (the script applies it at once).
    page.select_option("#deals-sort", "touches")
    page.wait_for_url("**sort=touches**")
    assert page.locator("tr.deal-row th a").first.inner_text() == "Charlie Health"

    # Search: an attendee's name finds their deal.
    page.fill("#deals-q", "kim lee")
    page.press("#deals-q", "Enter")
    page.wait_for_url("**q=kim+lee**")
    expect(page.locator("tr.deal-row")).to_have_count(1)
    assert page.locator("tr.deal-row th a").inner_text() == "Bravo"

    # The deal page: since, and renaming in plain sight.
    page.click("tr.deal-row th a")
    expect(page.locator("h1")).to_contain_text("Bravo")
    expect(page.locator("dl.facts")).to_contain_text("(the first touch)")
    fits(page, "deal")
    page.fill("#deal-name", "Bravo Holdings")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator(".flash")).to_have_text("Renamed the deal to “Bravo Holdings”.")
    expect(page.locator("h1")).to_contain_text("Bravo Holdings")

    # The picker: typing finds a deal (the page's script asks /deals/search), picking it
    # and Move moves the touch.
    page.goto(f"{url}/prompts/{prompts['Contoso demo']}")
    page.fill("#move-q", "charl")
    choice = page.locator("#move-choices li.deal-choice")
    expect(choice).to_have_count(1)
    expect(choice).to_contain_text("Charlie Health")
    page.locator("#move-q").scroll_into_view_if_needed()
    fits(page, "deal-picker")
    choice.locator("input[type=radio]").check()
    page.locator("#move").get_by_role("button", name="Move").click()
    expect(page.locator(".flash")).to_have_text("Moved to the deal “Charlie Health”.")
    expect(page.locator("#move")).to_contain_text("Now in Charlie Health")

    # Nothing found offers the words as a new deal's name.
    page.fill("#move-q", "Fabrikam")
    expect(page.locator("#move-choices .deal-none")).to_have_text(
        "No other deal is named like “Fabrikam”.")
    expect(page.locator("#move-new")).to_have_value("Fabrikam")
    expect(page.locator("#move-new-choice")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not complaints, complaints

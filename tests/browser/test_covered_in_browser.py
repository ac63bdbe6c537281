"""A deal that moved on, in a real browser (Debian's Chromium via Playwright) at 1280 and
390 px: answering the newest of three prompts of one deal takes the other two out of the
inbox with an Undo that brings them back; picking a busy time for a next step names the
meeting it clashes with. Screenshots covered-*.png, covered-prompt-*.png and clash-*.png in
tests/artifacts/."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from calsync.models import User
from tests.browser.conftest import account, fits, sign_in
from tests.web.conftest import Seed, seed_meetings

EMAIL = "rep@acme-sales.com"
ZONE = "America/Chicago"
BUYER = ("lena@contoso.example",)
TITLES = ("Contoso intro call", "Contoso product demo", "Contoso pricing call")


def _user(app: Flask) -> User:
    return account(app, EMAIL, ZONE)



@pytest.mark.parametrize("width", [1280, 390])
def test_an_answer_covers_the_deals_older_prompts_with_undo(live_app: tuple[str, Flask],
                                                            browser: Browser,
                                                            width: int) -> None:
    url, app = live_app
    ids = seed_meetings(app, _user(app), Seed(TITLES[0], hours_ago=75, attendees=BUYER),
                        Seed(TITLES[1], hours_ago=50, attendees=BUYER),
                        Seed(TITLES[2], hours_ago=3, attendees=BUYER))
    context = browser.new_context(timezone_id=ZONE, locale="en-US")
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, url, EMAIL)
    assert all(title in page.inner_text("main") for title in TITLES)

    page.goto(f"{url}/prompts/{ids[TITLES[2]]}")
    page.locator("#answer button.yes").click()
    notice = page.locator("form.covered-notice")
    assert notice.count() == 1
    assert "2 earlier prompts of" in notice.inner_text()
    assert "are covered by this answer." in notice.inner_text()
    undo = notice.locator("button:has-text('Undo')")
    assert undo.is_visible()
    fits(page, "covered")

    # Meanwhile the inbox has left them out.
    inbox = context.new_page()
    inbox.set_viewport_size({"width": width, "height": 900})
    inbox.goto(url)
    assert not any(title in inbox.inner_text("main") for title in TITLES)
    # A covered prompt's own page says what covered it, with its own Undo.
    inbox.goto(f"{url}/prompts/{ids[TITLES[0]]}")
    own = inbox.locator("form.covered-notice")
    assert own.inner_text().startswith(
        "Covered by your answer on “Contoso pricing call” (Yes — won / agreed)")
    assert own.locator("button:has-text('Undo')").is_visible()
    fits(inbox, "covered-prompt")

    # Undo: both wait again.
    undo.click()
    assert "Undone: 2 earlier prompts are back in your inbox." in page.inner_text("main")
    assert TITLES[0] in page.inner_text("main") and TITLES[1] in page.inner_text("main")
    assert TITLES[2] not in page.inner_text("main")  # the answer itself stays
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_picking_a_busy_time_names_the_meeting_it_clashes_with(live_app: tuple[str, Flask],
                                                               browser: Browser,
                                                               width: int) -> None:
    url, app = live_app
    user = _user(app)
    ids = seed_meetings(app, user, Seed(TITLES[2], hours_ago=3, attendees=BUYER))
    # A two-hour review three days ahead, at 10:00 in the user's zone.
    day = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=3)).date()
    review_end = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(ZONE)).replace(
        hour=12)
    hours_ahead = (review_end - datetime.now(ZoneInfo(ZONE))).total_seconds() / 3600
    seed_meetings(app, user, Seed("Weekly pipeline review", hours_ago=-hours_ahead,
                                  minutes=120, attendees=("colleague@acme-sales.com",)))
    context = browser.new_context(timezone_id=ZONE, locale="en-US")
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, url, EMAIL)

    pid = f"p{ids[TITLES[2]]}"
    page.goto(f"{url}/prompts/{ids[TITLES[2]]}")
    page.fill(f"#{pid}-summary", "Walk them through the offer")
    page.fill(f"#{pid}-date", day.isoformat())
    page.fill(f"#{pid}-time", "10:30")
    page.locator(f"#{pid}-time").dispatch_event("change")
    clash = page.locator(f"#{pid}-clash")
    # Waits for the check of 10:30: filling the date first asked about the default 10:00.
    expect(clash).to_have_text(re.compile(r"10:30 clashes with “Weekly pipeline review”\.$"))
    fits(page, "clash")

    # A free time clears it; the busy one is still saved, with the clash as its warning.
    page.fill(f"#{pid}-time", "14:00")
    page.locator(f"#{pid}-time").dispatch_event("change")
    clash.wait_for(state="hidden")
    page.fill(f"#{pid}-time", "11:00")
    page.locator(f"#{pid}-time").dispatch_event("change")
    clash.wait_for(state="visible")
    page.locator("#answer button:has-text('Plan next step')").click()
    assert "Next step planned" in page.inner_text("main")
    assert "11:00 clashes with “Weekly pipeline review”." in page.inner_text("main")
    context.close()

"""Promises and after-sale touches in a real browser (Debian's Chromium via Playwright) at
1280 and 390 px: a next step promised by a deadline is planned ahead of it, its prompt asks
"Delivered?" and Delivered plans the follow-through; a yes offers the after-sale touches.
Screenshots promise-*.png and after-sale-*.png in tests/artifacts/."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from calsync.db import get_db
from calsync.models import FollowUp, Prompt, User
from calsync.services import prompts as inbox
from tests.browser.conftest import account, fits, sign_in
from tests.web.conftest import Seed, seed_meetings

EMAIL = "rep@acme-sales.com"
ZONE = "America/Chicago"
BUYER = ("lena@contoso.example",)
TITLE = "Contoso pricing call"


def _user(app: Flask) -> User:
    return account(app, EMAIL, ZONE)


def _open(browser: Browser, url: str, width: int) -> Page:
    context = browser.new_context(timezone_id=ZONE, locale="en-US")
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, url, EMAIL)
    return page


def _wednesday() -> datetime:
    day = datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=8)
    while day.weekday() != 2:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 16, tzinfo=ZoneInfo(ZONE))


@pytest.mark.parametrize("width", [1280, 390])
def test_a_promise_is_planned_ahead_delivered_and_followed_through(
        live_app: tuple[str, Flask], browser: Browser, width: int) -> None:
    url, app = live_app
    ids = seed_meetings(app, _user(app), Seed(TITLE, hours_ago=3, attendees=BUYER))
    page = _open(browser, url, width)
    due = _wednesday()
    pid = f"p{ids[TITLE]}"
    page.goto(f"{url}/prompts/{ids[TITLE]}")
    page.fill(f"#{pid}-summary", "Send the pricing")
    page.fill(f"#{pid}-date", (due + timedelta(days=1)).date().isoformat())
    page.fill(f"#{pid}-time", "09:00")
    page.click(f"#{pid}-form details.more > summary")  # the optional part, folded away
    page.fill(f"#{pid}-value", "pricing for the pilot")
    page.fill(f"#{pid}-promise-date", due.date().isoformat())
    page.fill(f"#{pid}-promise-time", "16:00")
    # The step's date, later than the promise, follows the promise's date.
    assert page.input_value(f"#{pid}-date") == due.date().isoformat()
    page.locator("#answer button.primary").click()
    main = page.inner_text("main")
    assert f"promised for Wed {due.day} {due:%b} 16:00" in main

    with app.app_context(), get_db().session() as session:
        followup = session.scalars(select(FollowUp)).one()
        assert followup.start == due - timedelta(days=1)  # a working day ahead
        inbox.create_due_prompts(session, app.extensions["calsync.settings"],
                                 followup.end + timedelta(hours=1))
        asked = session.scalar(select(Prompt.id).where(Prompt.followup_id == followup.id))
    page.goto(f"{url}/prompts/{asked}")
    section = page.locator("#delivered")
    assert "Delivered?" in section.inner_text()
    assert "pricing for the pilot" in section.inner_text()
    assert page.locator("h1 .badge.kind").inner_text() == "Promise · Email"
    fits(page, "promise")

    section.locator("button:has-text('Delivered')").click()
    main = page.inner_text("main")
    assert "Delivered early" in main and "Follow-through planned for" in main
    assert page.locator("#delivered .badge.timing").inner_text() == "early"
    page.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_yes_offers_the_after_sale_touches(live_app: tuple[str, Flask], browser: Browser,
                                            width: int) -> None:
    url, app = live_app
    ids = seed_meetings(app, _user(app), Seed(TITLE, hours_ago=3, attendees=BUYER))
    page = _open(browser, url, width)
    pid = f"p{ids[TITLE]}"
    page.goto(f"{url}/prompts/{ids[TITLE]}")
    # Nothing ticked by default: a plain Yes, then the confirmation offers each touch.
    assert not page.is_checked(f"#{pid}-after-check_in")
    page.locator("#answer button.yes").click()
    main = page.inner_text("main")
    assert "The deal is won." in main
    offer = page.locator("form.after-sale-notice")
    assert "Also plan, one click each:" in offer.inner_text()
    assert "(in about 3 months)" in offer.inner_text()
    fits(page, "after-sale-offer")
    offer.locator("button[value='check_in']").click()
    assert "Planned: Satisfaction check-in" in page.inner_text("main")
    page.locator("form.after-sale-notice button[value='referral']").click()
    page.locator("form.after-sale-notice button[value='upsell']").click()
    assert "Planned: Up-sell review" in page.inner_text("main")
    assert page.locator("form.after-sale-notice").count() == 0
    with app.app_context(), get_db().session() as session:
        kinds = sorted(session.scalars(select(FollowUp.kind)))
    assert kinds == ["check_in", "referral", "upsell"]
    page.context.close()

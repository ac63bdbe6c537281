"""A promise's prompt email in a real browser (Debian's Chromium via Playwright) at 1280 and
390 px: the email's HTML part asks "Delivered?" with Delivered and Not yet as its main
buttons, and its Not yet link opens, signed out, a page whose main button is Not yet; it
records only when clicked. Screenshots: email-promise, link-promise-not-yet."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from calsync.db import get_db
from calsync.models import FollowUp, User
from tests.browser.conftest import fits
from tests.browser.pages import chicago_page
from tests.web.promise_due import due_promise
from tests.web.test_promise_prompt_email import _email, _parts

WIDTHS = [1280, 390]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_promise_email_and_its_not_yet_link(live_app: tuple[str, Flask], browser: Browser,
                                                width: int, make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    promise = due_promise(app, user)
    text, html = _parts(_email(app, user, promise.prompt))
    page = chicago_page(browser, width)
    page.set_content(html)
    expect(page.locator("h1")).to_have_text("Delivered?")
    expect(page.get_by_role("link", name="Delivered", exact=True)).to_be_visible()
    promised = re.compile(r"Promised for \w{3} \d{1,2} \w{3} \d\d:\d\d")
    expect(page.get_by_text(promised)).to_be_visible()
    fits(page, "email-promise")

    # The email's links name BASE_URL; the served app is on a loopback port.
    found = re.search(r"^Not yet: \S+(/a/\S+)$", text, re.MULTILINE)
    assert found
    page.goto(url + found.group(1))
    section = page.locator("#delivered")
    expect(section.locator("button.primary")).to_have_text("Not yet")
    with app.app_context(), get_db().session() as session:
        before = session.get(FollowUp, promise.followup)
        assert before is not None
        start = before.start
    fits(page, "link-promise-not-yet")
    section.get_by_role("button", name="Not yet").click()
    expect(page.locator(".flash").first).to_contain_text("Not delivered yet: calsync asks again")
    with app.app_context(), get_db().session() as session:
        moved = session.get(FollowUp, promise.followup)
        assert moved is not None and moved.delivered_at is None
        assert moved.start != start and moved.start > datetime.now(UTC)
    page.context.close()

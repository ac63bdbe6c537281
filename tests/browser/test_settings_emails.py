"""The settings page's emails card in a real browser (Debian's Chromium via Playwright): the
time inputs post what the service reads, and the card fits a phone and a desktop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.models import User
from tests.conftest import PASSWORD
from tests.servers.live_app import LiveServer

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
WIDTHS = (1280, 390)


@pytest.fixture
def live_app(settings: Settings) -> Iterator[tuple[str, Flask]]:
    live = LiveServer()
    app: Flask = create_app(replace(settings, base_url=live.url))
    live.serve(app)
    yield live.url, app
    live.stop()


def sign_in(page: Page, served: str, email: str) -> None:
    page.goto(f"{served}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")


def fits(page: Page) -> bool:
    """No horizontal scroll: the page is no wider than the window."""
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_choose_and_save_in_a_browser(live_app: tuple[str, Flask], user: User,
                                      page: Page) -> None:
    served, _ = live_app
    sign_in(page, served, user.email)
    page.goto(f"{served}/settings#notifications")
    card = page.locator("#notifications")
    assert "calsync sends no email" in card.inner_text()
    card.locator("select[name=email_prompts]").select_option("summary")
    card.locator("select[name=summary_hour]").select_option("16")
    card.locator("input[name=quiet_start]").fill("21:30")  # a time input: typed as a clock
    card.locator("input[name=digest]").uncheck()
    card.locator("button:has-text('Save email choices')").click()
    assert "Saved your email choices." in page.inner_text("main")
    assert page.input_value("input[name=quiet_start]") == "21:30"
    assert page.input_value("select[name=email_prompts]") == "summary"
    assert not page.is_checked("input[name=digest]")


def test_the_card_fits_a_phone_and_a_desktop(live_app: tuple[str, Flask], user: User,
                                             page: Page) -> None:
    served, app = live_app
    with app.app_context(), get_db().session() as session:
        row = session.get(User, user.id)
        row.email_refused_at = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
        row.email_refused_reason = ("550 5.1.1 <ana@acme-sales.com>: Recipient address "
                                    "rejected: User unknown in virtual mailbox table")
        session.commit()
    sign_in(page, served, user.email)
    ARTIFACTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{served}/settings")
        card = page.locator("#notifications")
        assert card.locator("#email-refused").is_visible()
        assert fits(page), f"horizontal scroll at {width}px"
        card.screenshot(path=str(ARTIFACTS / f"settings-emails-{width}.png"))
        page.screenshot(path=str(ARTIFACTS / f"settings-{width}.png"), full_page=True)

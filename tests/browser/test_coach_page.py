"""/coach in a real browser (Debian's Chromium via Playwright) at 1280 and 390 px: nothing
scrolls sideways, a reason is one click, a missed follow-up moves in one step, the CSP blocks
nothing. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page

from calsync.db import get_db
from calsync.models import User
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.coach.history import add_followup, make_week


def seed(app: Flask, user: User) -> None:
    """The known week, and a follow-up later today so "Due today" has one."""
    with app.app_context(), get_db().session() as session:
        week = make_week(session, user.id)
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
        add_followup(session, week.acme, "Send the proposal", later)
        session.commit()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_coach_reads_and_acts_at_desktop_and_phone_widths(
        live_app: tuple[str, Flask], page: Page, width: int,
        make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    seed(app, user)
    complaints: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") and "Failed to load" not in message.text:
            complaints.append(message.text)

    page.on("console", watch)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, url, user.email)
    page.goto(f"{url}/coach")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    missed = page.locator("article.missed")
    assert missed.count() == 2
    assert page.locator("#due-today").inner_text().count("Send the proposal") == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"coach-{width}.png"), full_page=True)

    missed.first.get_by_role("button", name="Waiting on them").click()
    assert "noted, “Waiting on them”" in page.locator(".flash").inner_text()
    assert "Why missed: Waiting on them" in page.locator("article.missed").last.inner_text()

    first = page.locator("article.missed").first
    first.locator("summary", has_text="Reschedule").click()
    first.get_by_role("button", name="Move it").click()
    assert "moved to" in page.locator(".flash").inner_text()
    assert page.locator("article.missed").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not complaints, complaints

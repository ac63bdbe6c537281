"""/coach in a real browser (Debian's Chromium via Playwright) at 1280 and 390 px: nothing
scrolls sideways, a reason is one click, a missed follow-up moves in one step, the CSP blocks
nothing. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.models import User
from tests.coach.history import add_followup, make_week
from tests.conftest import PASSWORD
from tests.servers.live_app import LiveServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, Flask]]:
    live = LiveServer()
    app: Flask = create_app(replace(settings, base_url=live.url))
    live.serve(app)
    yield live.url, app
    live.stop()


def seed(app: Flask, user: User) -> None:
    """The known week, and a follow-up later today so "Due today" has one."""
    with app.app_context(), get_db().session() as session:
        week = make_week(session, user.id)
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
        add_followup(session, week.acme, "Send the proposal", later)
        session.commit()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_coach_reads_and_acts_at_desktop_and_phone_widths(
        served: tuple[str, Flask], page: Page, width: int,
        make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = served
    user: User = make_user()
    seed(app, user)
    complaints: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") and "Failed to load" not in message.text:
            complaints.append(message.text)

    page.on("console", watch)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{url}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
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

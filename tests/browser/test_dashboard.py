"""/dashboard in a real browser (Debian's Chromium via Playwright): at 1280 and 390 px wide
nothing scrolls sideways, every chart draws with its table beside or below it, its labels
stay readable, and the CSP blocks nothing. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page

from calsync.models import User
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.dashboard_history import seed_history

CHARTS = ("win-rate", "closes", "followups", "answers", "open")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_dashboard_reads_at_desktop_and_phone_widths(live_app: tuple[str, Flask],
                                                         page: Page, width: int,
                                                         make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    seed_history(app, user)
    complaints: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        # A missing resource is checked by its response below.
        if message.type in ("error", "warning") and "Failed to load" not in message.text:
            complaints.append(message.text)

    page.on("console", watch)
    page.on("response", lambda response: complaints.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, url, user.email)
    page.goto(f"{url}/dashboard")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for key in CHARTS:
        chart = page.locator(f"#{key} svg[role=img]")
        box = chart.bounding_box()
        assert box and box["width"] >= 0.8 * min(width, 600) - 60, (key, box)
        assert chart.locator("rect, circle").count() > 0, key
        table = page.locator(f"#{key} table")
        assert table.is_visible()
        table_box = table.bounding_box()
        assert table_box and table_box["x"] + table_box["width"] <= width
        if width < 760:  # a phone stacks the table under its chart
            assert table_box["y"] >= box["y"] + box["height"] - 1
    # Labels keep their size when the chart shrinks to a phone's width.
    sizes = page.eval_on_selector_all(
        "#followups svg text", "texts => texts.map(t => t.getBoundingClientRect().height)")
    assert min(sizes) >= 11, sizes
    assert not complaints, complaints

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{width}.png"), full_page=True)
    for key in ("headline", *CHARTS):
        page.locator(f"#{key}").screenshot(path=str(ARTIFACTS / f"dashboard-{width}-{key}.png"))

"""Settings and sign-up in Chromium (issue 10, items 12 and 13): refused forms land on a
summary in words, a new token shows once where the eye is, and the time-zone picker is
grouped, searchable and starts at the browser's zone, at desktop and phone width."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Browser, Page

from calsync.db import get_db
from calsync.models import User
from tests.browser.test_settings_emails import ARTIFACTS, WIDTHS, fits, live_app, sign_in

__all__ = ["live_app"]  # the fixture, shared with the emails card's tests


def focused_id(page: Page) -> str:
    """The focused element's id, once the page after a click has loaded."""
    page.wait_for_load_state()
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def test_a_refused_cadence_lands_on_its_summary(live_app: tuple[str, Flask], user: User,
                                                page: Page) -> None:
    served, _ = live_app
    sign_in(page, served, user.email)
    ARTIFACTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{served}/settings#cadence")
        page.fill("input[name=gaps_days]", "5, 3")
        for box in page.locator("#working_days input").all():
            box.uncheck()
        page.click("button:has-text('Save cadence')")
        summary = page.locator("#error-summary")
        assert focused_id(page) == "error-summary"
        assert summary.is_visible() and page.evaluate("window.scrollY") < 200
        text = summary.inner_text()
        assert "never shrink: 5 days, then 3" in text and "Tick at least one working day" in text
        assert "gaps_days" not in text and "frozenset" not in text
        assert page.input_value("input[name=gaps_days]") == "5, 3"  # kept as typed
        assert fits(page), f"horizontal scroll at {width}px"
        page.screenshot(path=str(ARTIFACTS / f"settings-refused-{width}.png"))
        summary.locator("a[href='#working_days']").click()
        assert focused_id(page) == "working_days-0"  # the first box of the group
        summary.locator("a[href='#gaps_days']").click()
        assert focused_id(page) == "gaps_days"


def test_a_new_token_shows_once_where_the_eye_is(live_app: tuple[str, Flask], user: User,
                                                 page: Page) -> None:
    served, _ = live_app
    sign_in(page, served, user.email)
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{served}/settings")
    page.fill("input[name=name]", "CRM sync")
    page.click("button:has-text('Create token')")
    page.wait_for_url(f"{served}/settings#new-token-box")
    box = page.locator("#new-token-box")
    assert focused_id(page) == "new-token-box"
    assert box.is_visible() and box.bounding_box()["y"] < 800  # type: ignore[index]
    token = page.inner_text("#new-token")
    assert token.startswith("cs_") or len(token) > 20
    assert fits(page)
    box.screenshot(path=str(ARTIFACTS / "settings-new-token-390.png"))
    page.reload()
    assert page.locator("#new-token-box").count() == 0  # shown once, never again
    assert page.locator("#tokens tbody tr").count() == 1  # and the reload made no second


def test_the_zone_picker_searches_and_guesses(live_app: tuple[str, Flask], user: User,
                                              browser: Browser) -> None:
    served, app = live_app
    with app.app_context(), get_db().session() as session:
        session.get(User, user.id).timezone = "UTC"
        session.commit()
    # Chromium reports India's zone by its older name, which the picker knows.
    context = browser.new_context(timezone_id="Asia/Calcutta", locale="en-IN")
    page = context.new_page()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{served}/signup")
        assert page.input_value("#timezone") == "Asia/Kolkata"
        assert page.locator("#timezone optgroup[label='Europe']").count() == 1
        assert page.locator("#timezone option[value='US/Eastern']").count() == 0
        page.fill("#timezone-search", "berlin")
        assert page.input_value("#timezone") == "Europe/Berlin"
        assert page.locator("#timezone option").count() == 1
        assert "1 match" in page.inner_text("#timezone-matches")
        page.fill("#timezone-search", "new york")
        assert page.input_value("#timezone") == "America/New_York"
        page.fill("#timezone-search", "germany")
        assert page.locator("#timezone option").count() == 2  # Berlin and Busingen
        page.fill("#timezone-search", "atlantis")
        assert "No time zone matches" in page.inner_text("#timezone-matches")
        assert page.locator("#timezone option").count() == 2  # the list stays as it was
        assert fits(page), f"horizontal scroll at {width}px"
        page.fill("#timezone-search", "germany")
        page.screenshot(path=str(ARTIFACTS / f"signup-zone-{width}.png"))
    sign_in(page, served, user.email)
    page.goto(f"{served}/settings#time-zone")
    assert page.input_value("#timezone") == "Asia/Kolkata"  # the saved UTC was no choice
    assert page.locator("[data-browser-zone-note]").is_visible()
    page.locator("#timezone").screenshot(path=str(ARTIFACTS / "settings-zone-1280.png"))
    page.click("#timezone >> xpath=ancestor::form >> button:has-text('Save')")
    assert "Times are now shown in Asia/Kolkata." in page.inner_text("main")
    context.close()


def test_the_zone_picker_works_without_script(live_app: tuple[str, Flask],
                                              browser: Browser) -> None:
    served, _ = live_app
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{served}/signup")
    assert not page.locator("#timezone-search").is_visible()
    page.select_option("#timezone", "Europe/Amsterdam")
    assert page.input_value("#timezone") == "Europe/Amsterdam"
    context.close()

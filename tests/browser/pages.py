"""Browser pages as the page tests want them: at a width, in Chicago, signed in."""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from calsync.models import User
from tests.browser.conftest import sign_in


def at_width(page: Page, width: int) -> Page:
    """`page` `width` px wide and 900 high: the phone and desktop widths the tests check."""
    page.set_viewport_size({"width": width, "height": 900})
    return page


def chicago_page(browser: Browser, width: int) -> Page:
    """A page in a context of its own whose browser says it is in Chicago (as the `page`
    fixture's), `width` px wide; closing its context is the caller's."""
    context = browser.new_context(timezone_id="America/Chicago", locale="en-US")
    return at_width(context.new_page(), width)


def signed_in(page: Page, url: str, user: User) -> Page:
    """`page`, signed in as `user` (with the test password)."""
    sign_in(page, url, user.email)
    return page


def microsoft_consent(page: Page, url: str) -> None:
    """From the Calendars page (signed in), press Connect Microsoft 365 and land on the
    emulator's consent page. That page is the emulator's, over plain HTTP: the button's
    POST is answered with a redirect there, which Chromium refuses today (see
    test_the_connect_button_reaches_the_consent_page), so the redirect is followed by hand."""
    token = page.input_value("#microsoft input[name=csrf_token]")
    started = page.request.post(f"{url}/microsoft/connect", form={"csrf_token": token},
                                max_redirects=0)
    assert started.status == 302
    page.goto(started.headers["location"])
    page.wait_for_selector("button.allow")

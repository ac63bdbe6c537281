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

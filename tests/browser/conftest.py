"""Browser fixtures: Debian's Chromium driven by Playwright, one page in Chicago's zone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.models import User
from calsync.services import accounts
from tests.conftest import PASSWORD
from tests.servers.live_app import LiveServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"  # screenshots; git ignores it

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless, driven by Playwright."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: `make test` installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page whose browser says it is in Chicago, so sign-up's zone guess shows."""
    context = browser.new_context(timezone_id="America/Chicago", locale="en-US")
    yield context.new_page()
    context.close()


def serve(settings: Settings) -> Iterator[tuple[str, Flask]]:
    """calsync on a loopback port with `settings`, its BASE_URL that port: (url, app)."""
    live = LiveServer()
    app = create_app(replace(settings, base_url=live.url))
    live.serve(app)
    yield live.url, app
    live.stop()


@pytest.fixture
def live_app(settings: Settings) -> Iterator[tuple[str, Flask]]:
    yield from serve(settings)


def sign_in(page: Page, url: str, email: str) -> None:
    """Sign in through the form, with the test password; returns once the page it leads to
    has loaded (closing a page while a navigation commits can hang Chromium's close:
    microsoft/playwright#42366)."""
    page.goto(f"{url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")


def fits(page: Page, name: str = "") -> None:
    """Nothing on the page scrolls sideways at its width (the message names what sticks
    out); with a `name`, a full-page screenshot kept as ARTIFACTS/<name>-<width>.png."""
    width = (page.viewport_size or {"width": 0})["width"]
    wide = page.evaluate("""width => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > width && e.getClientRects().length)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' +
                         Math.round(e.getBoundingClientRect().width))""", width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, (page.url, wide)
    if name:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)


def account(app: Flask, email: str, zone: str) -> User:
    """A user with the test password, in `zone`, detached from its session."""
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, email, PASSWORD, zone)
        session.commit()
        session.expunge(user)
        return user

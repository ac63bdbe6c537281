"""Keystrokes to answer ten prompts (yes, no, the suggested next step, and again) in the
inbox, in a real browser (Debian's chromium through Playwright): with the inbox's keys, and
the baseline of the same answers by keyboard without them (Tab to the row, Enter to open
it, Tab to the button; the next step's "what" typed), counted in the same run.

    python -m bench.keystrokes
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page

from calsync import migrate
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.models import User
from calsync.services import accounts
from tests.browser.conftest import chromium, sign_in
from tests.conftest import PASSWORD
from tests.servers.live_app import LiveServer
from tests.servers.serving import serving
from tests.web.conftest import Seed, seed_meetings

ANSWERS = ("yes", "no", "next_step")
ROUNDS = 10
COMPANIES = ("Northwind", "Contoso", "Fabrikam", "Tailspin", "Woodgrove", "Litware",
             "Adatum", "Proseware", "Lucerne", "Wingtip", "Coho", "Margie")
MAX_TABS = 300  # a control never reached within these is a failure, not a count


@contextmanager
def served() -> Iterator[tuple[str, Flask]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'keys.db'}"
        migrate.upgrade(url)
        settings = Settings.from_env({}, instance_path=Path(tmp) / "instance",
                                     database_url=url, secret_key="bench",
                                     allow_private_urls=True, queue_immediate=True)
        live = LiveServer()
        with serving(create_app(replace(settings, base_url=live.url)), live) as (url, app):
            yield url, app


def a_rep_with_prompts(app: Flask, email: str) -> User:
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, email, PASSWORD, "Europe/Berlin")
        session.commit()
        session.expunge(user)
    seed_meetings(app, user, *(
        Seed(f"{name} call", hours_ago=3 + n, attendees=(f"buyer@{name.lower()}.example",))
        for n, name in enumerate(COMPANIES)))
    return user


def focused(page: Page, selector: str) -> bool:
    return bool(page.evaluate("s => !!document.activeElement?.matches(s)", selector))


def press(page: Page, key: str, count: list[int]) -> None:
    page.keyboard.press(key)
    count[0] += 1


def tab_to(page: Page, selector: str, count: list[int]) -> None:
    for _ in range(MAX_TABS):
        if focused(page, selector):
            return
        press(page, "Tab", count)
    raise AssertionError(f"Tab never reached {selector}")


def with_keys(page: Page, row: str, answer: str, count: list[int]) -> None:
    """The inbox's keys: the focus is on the row (j on the first visit)."""
    if not focused(page, f"#{row}, #{row} *"):
        press(page, "j", count)
    if answer == "next_step":
        press(page, "s", count)
        press(page, "Enter", count)
    else:
        press(page, answer[0], count)


def without_keys(page: Page, row: str, answer: str, count: list[int]) -> None:
    """Tab to the row and open it, Tab to the answer; the next step's "what" typed as the
    `s` key fills it, so both ways plan the same follow-up."""
    tab_to(page, f"#{row} summary", count)
    press(page, "Enter", count)
    if answer == "next_step":
        field = f"#{row} input[name=summary]"
        tab_to(page, field, count)
        text = page.get_attribute(field, "data-suggested") or ""
        page.keyboard.type(text)
        count[0] += len(text)
    tab_to(page, f"#{row} button[value={answer}]", count)
    press(page, "Enter", count)


def answer_ten(url: str, app: Flask, email: str,
               way: Callable[[Page, str, str, list[int]], None]) -> int:
    a_rep_with_prompts(app, email)
    count = [0]
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, url, email)
        page.goto(url)
        for n in range(ROUNDS):
            row = page.eval_on_selector("article.row", "r => r.id")
            with page.expect_navigation():
                way(page, row, ANSWERS[n % len(ANSWERS)], count)
            assert page.locator(".flash").count(), f"answer {n + 1} was not recorded"
        waiting = page.locator("article.row").count()
        assert waiting == len(COMPANIES) - ROUNDS, waiting
        context.close()
    return count[0]


def main() -> None:
    with served() as (url, app):
        keys = answer_ten(url, app, "keys@bench.example", with_keys)
        baseline = answer_ten(url, app, "tabs@bench.example", without_keys)
    print(f"keystrokes to answer {ROUNDS} prompts (yes, no, next step with the suggestion)")
    print(f"{'without the keys (baseline)':>30} {baseline:5}")
    print(f"{'with the inbox keys':>30} {keys:5} {keys / baseline:8.2f}x")


if __name__ == "__main__":
    main()

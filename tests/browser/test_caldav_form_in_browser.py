"""A CalDAV account in Chromium at 1280 and 390 px, against a real Radicale: a refused field of
the connect form takes the focus, with its error on a row of its own right under it; a
connection whose first sync is still queued says its calendars are being read (not "0
meetings read"); the deal page names the calendar a follow-up was written to and wraps a long
write error beside a short badge, with a Retry that works."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.models import FollowUp, Meeting, Prompt, User
from calsync.services import answers
from calsync.services.answers import Answer, NextStep
from tests.browser.conftest import ARTIFACTS, account, fits, serve
from tests.browser.pages import at_width, signed_in
from tests.conftest import PASSWORD
from tests.servers.caldav_demo_server import Demo, demo, guarded
from tests.servers.caldav_servers import CaldavServer, event_text, running

__all__ = ["demo"]  # the fixture, used by name

WIDTHS = [1280, 390]
HEIGHT = 900  # pages.at_width's


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[CaldavServer]:
    root = tmp_path / "radicale"
    root.mkdir()
    yield from running("radicale", root, PASSWORD)


@pytest.fixture
def queued_app(settings: Settings) -> Iterator[tuple[str, Flask]]:
    """calsync with a real queue and no worker: a queued sync waits, as behind a busy one."""
    yield from serve(replace(settings, queue_immediate=False))


def connect(page: Page, url: str, server: CaldavServer, username: str, password: str) -> None:
    """Fill the Calendars page's CalDAV form and send it (the page reloads either way)."""
    if "/sources" not in page.url:
        page.goto(f"{url}/sources")
    page.fill("#caldav-url", server.base_url)
    page.fill("#caldav-username", username)
    page.fill("#caldav-password", password)
    with page.expect_navigation():
        page.get_by_role("button", name="Connect CalDAV account").click()


def assert_refused(page: Page, field_id: str, words: str) -> None:
    """`field_id` alone is marked refused and has the focus, in view; its error is right
    under it, as wide as the form."""
    field, error = page.locator(f"#{field_id}"), page.locator(f"#{field_id}-error")
    assert page.evaluate("document.activeElement.id") == field_id
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == f"{field_id}-error"
    assert page.locator("#caldav [aria-invalid]").count() == 1
    assert words in error.inner_text()
    at, below, form = (field.bounding_box(), error.bounding_box(),
                       page.locator("#caldav form.fields").bounding_box())
    assert at and below and form
    assert at["y"] >= 0 and at["y"] + at["height"] <= HEIGHT, at  # the page opened on it
    gap = below["y"] - (at["y"] + at["height"])
    assert 0 <= gap < 30, (at, below)
    assert below["width"] > form["width"] - 2 and abs(below["x"] - form["x"]) < 2, (below, form)


def landed(page: Page, name: str) -> None:
    """Keep what the window shows (fits keeps the whole page): the form, as the user lands."""
    width = (page.viewport_size or {"width": 0})["width"]
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}-window.png"))


@pytest.mark.parametrize("width", WIDTHS)
def test_a_refused_field_takes_the_focus_with_its_error_under_it(
        page: Page, live_app: tuple[str, Flask], radicale: CaldavServer, width: int) -> None:
    url, app = live_app
    signed_in(at_width(page, width), url, account(app, "rep@acme-sales.com", "America/Chicago"))
    connect(page, url, radicale, radicale.username, "not-the-password")
    assert_refused(page, "caldav-password", "app-specific password")
    landed(page, "caldav-form-password")
    fits(page, "caldav-form-password")
    # Only blanks for a user name: the browser's `required` lets it through, calsync doesn't.
    connect(page, url, radicale, "  ", PASSWORD)
    assert_refused(page, "caldav-username", "user name")
    landed(page, "caldav-form-username")
    fits(page, "caldav-form-username")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_connection_waiting_for_its_sync_says_it_is_being_read(
        page: Page, queued_app: tuple[str, Flask], radicale: CaldavServer, width: int) -> None:
    url, app = queued_app
    radicale.put("work", "w1", ended_meeting("w1", "Demo with Bo", "bo@customer.example"))
    signed_in(at_width(page, width), url, account(app, "rep@acme-sales.com", "America/Chicago"))
    connect(page, url, radicale, radicale.username, PASSWORD)
    assert "/sources/" in page.url
    flash = page.locator(".flash").first.inner_text()
    assert "reading its calendars in the background" in flash, flash
    assert "0 meetings read" not in page.inner_text("body")
    fits(page, "caldav-connected-queued")


@pytest.fixture
def queued_demo_app(demo: Demo, database_url: str) -> Iterator[tuple[str, Flask]]:
    """calsync as `calsync run` serves it, with the demo account, its queue without a worker."""
    yield from serve(replace(guarded(demo, database_url), queue_immediate=False))


def test_the_demo_account_waiting_for_its_sync_says_it_is_being_read(
        page: Page, queued_demo_app: tuple[str, Flask]) -> None:
    url, app = queued_demo_app
    signed_in(at_width(page, 390), url, account(app, "rep@acme-sales.com", "America/Chicago"))
    page.goto(f"{url}/sources")
    with page.expect_navigation():
        page.get_by_role("button", name="Connect the demo CalDAV calendar").click()
    flash = page.locator(".flash").first.inner_text()
    assert flash.startswith("Connected “Demo CalDAV (Sales)”: calsync is reading"), flash
    assert "Follow-ups go to “Sales”" in flash
    fits(page, "caldav-demo-queued")


def ended_meeting(uid: str, title: str, email: str) -> str:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    who = email.split("@")[0].title()
    return event_text(uid, start, title, 60).replace("CN=Bo:mailto:bo@customer.example",
                                                     f"CN={who}:mailto:{email}")


def plan_next_step(app: Flask, user: User, title: str) -> FollowUp:
    """Answer the prompt of the meeting `title` with a next step in three days."""
    settings = app.extensions["calsync.settings"]
    with app.app_context(), get_db().session() as session:
        prompt = session.scalars(select(Prompt).join(Meeting).where(Meeting.title == title)).one()
        step = NextStep("Send the pricing", datetime.now(UTC).replace(
            second=0, microsecond=0) + timedelta(days=3), 30, "email")
        result = answers.answer_prompt(session, settings, session.get(User, user.id), prompt,
                                       Answer("next_step", next_step=step))
        assert result.followup is not None
        session.expire_all()
        followup = session.get(FollowUp, result.followup.id)
        session.expunge_all()
        assert followup is not None
        return followup


@pytest.mark.parametrize("width", WIDTHS)
def test_the_deal_page_names_the_calendar_and_wraps_a_write_error(
        page: Page, live_app: tuple[str, Flask], radicale: CaldavServer, width: int,
        tmp_path: Path) -> None:
    url, app = live_app
    radicale.put("work", "w1", ended_meeting("w1", "Demo with Bo", "bo@customer.example"))
    radicale.put("work", "w2", ended_meeting("w2", "Call with Cy", "cy@other.example"))
    user = account(app, "rep@acme-sales.com", "America/Chicago")
    signed_in(at_width(page, width), url, user)
    connect(page, url, radicale, radicale.username, PASSWORD)
    flash = page.locator(".flash").first.inner_text()
    assert "2 meetings read" in flash and "Follow-ups go to “Personal”" in flash, flash

    written = plan_next_step(app, user, "Demo with Bo")
    assert written.write_status == "written", written.write_error
    page.goto(f"{url}/deals/{written.deal_id}")
    assert page.locator(".write .badge.ok").inner_text() == "written to “Personal”"
    fits(page, "caldav-deal-written")

    # The password changed on the server: the next write is refused, with a long message.
    users = tmp_path / "radicale" / "users"
    users.write_text(f"{radicale.username}:changed-elsewhere\n")
    failed = plan_next_step(app, user, "Call with Cy")
    assert failed.write_status == "failed"
    page.goto(f"{url}/deals/{failed.deal_id}")
    badge, why = page.locator(".write .badge.error"), page.locator(".write .write-error")
    assert badge.inner_text() == "failed"
    assert why.inner_text().startswith("Not written to “Personal”: ")
    assert "app-specific password" in why.inner_text()
    box = why.bounding_box()
    assert box and box["height"] > 40  # wrapped onto lines of its own, not one long badge
    fits(page, "caldav-deal-failed")

    users.write_text(f"{radicale.username}:{PASSWORD}\n")
    with page.expect_navigation():
        page.get_by_role("button", name="Retry").click()
    assert page.url.endswith(f"/deals/{failed.deal_id}")
    assert page.locator(".flash").first.inner_text() == (
        f"“{failed.summary}” is now in your calendar.")
    assert page.locator(".write .badge.ok").inner_text() == "written to “Personal”"
    fits(page, "caldav-deal-retried")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_read_only_calendar_and_the_removal_note_on_the_source_page(
        live_app: tuple[str, Flask], page: Page, tmp_path: Path, width: int) -> None:
    url, app = live_app
    user = account(app, "ro@acme-sales.com", "America/Chicago")
    root = tmp_path / "shared"
    root.mkdir()
    for server in running("radicale", root, PASSWORD, shared=True):
        signed_in(at_width(page, width), url, user)
        connect(page, url, server, server.username, PASSWORD)
        page.wait_for_selector("#caldav-calendars")
        row = page.locator("#caldav-calendars tbody tr", has_text="(read-only)")
        assert row.count() == 1
        assert row.locator("input[type=radio]").is_disabled()
        page.click("summary:has-text('Remove this calendar')")
        assert "already wrote to this calendar stay there" in page.inner_text("main")
        fits(page, "caldav-source-read-only")

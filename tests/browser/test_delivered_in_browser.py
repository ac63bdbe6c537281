"""Promises, booked meetings and cold deals on the pages, in a real browser (Debian's
Chromium via Playwright) at 1280 and 390 px: the inbox and an answer link ask "Delivered?"
first, the answer page's promise section fits a phone, a deal shows the meeting booked with
them and how its promise was kept, the coach names a cold deal once. Screenshots:
inbox-promise, link-promise, prompt-promise, deal-booked, deals-booked, coach-cold-once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from calsync.db import get_db
from calsync.models import FollowUp, Meeting, User
from calsync.services import answers, links
from calsync.services.links import Link, LinkPurpose
from tests.browser.conftest import fits
from tests.browser.pages import chicago_page, signed_in
from tests.browser.test_booked_in_browser import seed as seed_booked
from tests.web.conftest import Seed, seed_meetings
from tests.web.promise_due import SUMMARY, due_promise

WIDTHS = [1280, 390]
# "cold since Mon 30 Nov": a weekday and its date, never the weekday alone.
COLD_SINCE = re.compile(r"cold since \w{3} \d{1,2} \w{3}")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_inbox_asks_delivered_first(live_app: tuple[str, Flask], browser: Browser,
                                        width: int, make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    promise = due_promise(app, user)
    page = signed_in(chicago_page(browser, width), url, user)
    page.goto(f"{url}/")
    row = page.locator(f"#prompt-{promise.prompt}")
    expect(row.locator("summary .badge.kind")).to_have_text("Promise · Email")
    expect(row.locator("summary .promised")).to_contain_text("promised for")
    row.locator(":scope > details > summary").click()
    delivered = row.get_by_role("button", name="Delivered", exact=True)
    expect(delivered).to_be_visible()
    expect(row.get_by_role("button", name="Not yet")).to_be_visible()
    # The ordinary answer is there, folded under "Something else happened".
    expect(row.locator("details.else > summary")).to_have_text("Something else happened")
    expect(row.locator("button.yes")).to_be_hidden()
    fits(page, "inbox-promise")

    # The keyboard's "s" still plans a next step: the fold opens around the field.
    row.locator(":scope > details > summary").focus()
    page.keyboard.press("s")
    expect(row.locator("input[name=summary]")).to_be_focused()
    expect(row.locator("input[name=summary]")).to_have_value("Follow up with Contoso")

    page.goto(f"{url}/")
    row.locator(":scope > details > summary").click()
    row.get_by_role("button", name="Delivered", exact=True).click()
    expect(page).to_have_url(re.compile(r"/(#.*)?$"))  # back to the inbox, not the prompt
    expect(page.locator(".flash").first).to_contain_text(
        f"Delivered early: “{SUMMARY}”. Follow-through planned for")
    expect(page.locator(f"#prompt-{promise.prompt}")).to_have_count(0)
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_an_answer_link_asks_delivered_first(live_app: tuple[str, Flask], browser: Browser,
                                             width: int, make_user) -> None:  # type: ignore[no-untyped-def]
    _url, app = live_app
    user: User = make_user()
    promise = due_promise(app, user)
    expires = (datetime.now(UTC) + timedelta(days=14)).replace(microsecond=0)
    link = links.url(app.extensions["calsync.settings"],
                     Link(LinkPurpose.FOLLOWUP, user.id, expires, followup_id=promise.followup))
    page = chicago_page(browser, width)  # signed out: the link is the key
    page.goto(link)
    expect(page.locator("h1 .badge")).to_have_text("Promise")
    section = page.locator("#delivered")
    expect(section).to_contain_text("promised for")
    expect(section.get_by_role("button", name="Not yet")).to_be_visible()
    expect(page.locator("#else > summary")).to_have_text("Something else happened")
    expect(page.locator("#choose")).to_be_hidden()
    fits(page, "link-promise")
    page.locator("#else > summary").click()
    expect(page.locator("#choose")).to_be_visible()
    fits(page)

    section.get_by_role("button", name="Delivered", exact=True).click()
    expect(page.locator(".flash").first).to_contain_text("Delivered early.")
    expect(page.locator("#recorded")).to_contain_text("delivered early")
    with app.app_context(), get_db().session() as session:
        assert session.get(FollowUp, promise.followup).delivered_at is not None
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_promise_section_of_the_answer_form_fits(live_app: tuple[str, Flask],
                                                     browser: Browser, width: int,
                                                     make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    pid = seed_meetings(app, user, Seed("Contoso pricing call", hours_ago=3))[
        "Contoso pricing call"]
    page = signed_in(chicago_page(browser, width), url, user)
    page.goto(f"{url}/prompts/{pid}")
    page.click(f"#p{pid}-form details.more > summary")
    expect(page.locator(f"#p{pid}-promise-date")).to_be_visible()
    fieldset = page.locator(f"#p{pid}-form fieldset").first
    assert (fieldset.bounding_box() or {"width": 1e9})["width"] <= width
    fits(page, "prompt-promise")
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_deal_shows_its_booked_meeting_and_its_kept_promise(
        live_app: tuple[str, Flask], browser: Browser, width: int,
        make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    seed_booked(app, user)  # Contoso's follow-up covered by "Pricing review", ahead
    promise = due_promise(app, user)  # Contoso's too
    settings = app.extensions["calsync.settings"]
    with app.app_context(), get_db().session() as session:
        owner = session.get(User, user.id)
        followup = session.get(FollowUp, promise.followup)
        answers.deliver(session, settings, owner, followup)  # as its prompt's Delivered does
        deal_id = followup.deal_id
        # Booked for tomorrow: before the follow-through the delivery planned, so the
        # meeting is the deal's next touch.
        meeting = session.scalars(select(Meeting).where(Meeting.uid == "pricing-review")).one()
        meeting.start = datetime.now(UTC) + timedelta(days=1)
        meeting.end = meeting.start + timedelta(hours=1)
        session.commit()
    page = signed_in(chicago_page(browser, width), url, user)
    page.goto(f"{url}/deals/{deal_id}")
    expect(page.locator("dl.facts")).to_contain_text("Booked: “Pricing review” on")
    expect(page.locator("dl.facts")).not_to_contain_text("no next touch planned")
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li.booked-touch")).to_contain_text("Booked: “Pricing review”")
    rows = timeline.locator(":scope > li").all_inner_texts()
    booked_at = next(i for i, text in enumerate(rows) if "Pricing review" in text)
    through_at = next(i for i, text in enumerate(rows) if text.startswith("Follow through"))
    assert booked_at < through_at  # at the meeting's time, tomorrow, not the follow-up's
    kept = timeline.locator("li", has_text=SUMMARY).first
    expect(kept.locator(".badge.kind.promise")).to_have_text("Promise")
    expect(kept).to_contain_text("promised for")
    expect(kept).to_contain_text("delivered early")
    fits(page, "deal-booked")

    page.goto(f"{url}/deals")
    row = page.locator("tr.deal-row", has_text="Contoso")
    expect(row.locator("td[data-label='Next follow-up']")).to_contain_text(
        "Booked: “Pricing review” on")
    expect(page.locator("tr.deal-row", has_text="Delta Foods").locator(".badge.cold")
           ).to_have_text(COLD_SINCE)
    fits(page, "deals-booked")

    page.goto(f"{url}/coach")
    expect(page.locator("#cold-deals")).to_contain_text("Delta Foods")
    expect(page.locator("#cold-deals .badge.cold").first).to_have_text(COLD_SINCE)
    # Named once: gone cold, so not also under "No next touch planned".
    expect(page.locator("#no-next-touch", has_text="Delta Foods")).to_have_count(0)
    fits(page, "coach-cold-once")
    page.context.close()

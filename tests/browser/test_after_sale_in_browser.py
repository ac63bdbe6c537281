"""An after-sale touch in the inbox, in a real browser (Debian's Chromium via Playwright) at
1280 and 390 px: its row asks the check-in's own question and a "Not happy yet" keeps the
deal won. Screenshot: inbox-check-in-<width>.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from calsync.db import get_db
from calsync.models import Deal, FollowUp, Prompt, User
from calsync.services import answers
from calsync.services import prompts as inbox
from tests.browser.conftest import fits
from tests.browser.pages import chicago_page, signed_in
from tests.web.conftest import Seed, seed_meetings


@pytest.mark.parametrize("width", [1280, 390])
def test_a_check_in_row_asks_are_they_happy(live_app: tuple[str, Flask], browser: Browser,
                                           width: int, make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    ids = seed_meetings(app, user, Seed("Contoso demo", hours_ago=3,
                                        attendees=("lena@contoso.example",)))
    settings = app.extensions["calsync.settings"]
    with app.app_context(), get_db().session() as session:
        account = session.get(User, user.id)
        won = session.get(Prompt, ids["Contoso demo"])
        assert account is not None and won is not None
        answers.answer_prompt(session, settings, account, won,
                              answers.Answer("yes", after_sale=("check_in",)))
        check_in = session.scalars(select(FollowUp).where(FollowUp.kind == "check_in")).one()
        # Its time come (the tick prompts what passed), as 30 days on would.
        check_in.start = datetime.now(UTC) - timedelta(hours=2)
        check_in.end = check_in.start + timedelta(minutes=30)
        session.commit()
        inbox.create_due_prompts(session, settings, datetime.now(UTC))
        asked = session.scalars(select(Prompt).where(Prompt.followup_id == check_in.id)).one()
        asked_id, deal_id = asked.id, check_in.deal_id
    page = signed_in(chicago_page(browser, width), url, user)
    page.goto(f"{url}/")
    row = page.locator(f"#prompt-{asked_id}")
    expect(row.locator("summary .badge.kind")).to_have_text("Satisfaction check-in · Email")
    expect(row.locator("summary .deal")).to_have_text("Contoso · after the sale")
    row.locator(":scope > details > summary").click()
    expect(row.locator(".after-sale-question")).to_contain_text("Are they happy with it?")
    expect(row.locator("select[name=no_reason]")).to_have_count(0)
    assert "usual 5-7" not in row.inner_text()
    fits(page, "inbox-check-in")
    row.get_by_role("button", name="Not happy yet").click()
    expect(page.locator("main")).to_contain_text("Not happy yet. The deal stays won.")
    with app.app_context(), get_db().session() as session:
        deal = session.get(Deal, deal_id)
        assert deal is not None and deal.status == "won"

"""Answer and unsubscribe links in a real browser (Debian's Chromium via Playwright), signed
out: what a mail scanner's GET, HEAD and script run do (nothing), what Confirm does, and how
each page reads at 1280 and 390 px wide. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from playwright.sync_api import Page

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import AnswerAction, MissedReason
from calsync.models import FollowUp, Prompt, User
from calsync.services import accounts, links, prompts
from calsync.services.answers import Answer, NextStep, answer_prompt
from calsync.services.links import Link, LinkPurpose
from tests.conftest import PASSWORD
from tests.servers.live_app import LiveServer
from tests.web.conftest import Seed, load, seed_meetings

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WIDTHS = (1280, 390)


@dataclass
class Served:
    url: str
    app: Flask
    settings: Settings
    user: User

    def link(self, purpose: LinkPurpose = LinkPurpose.ANSWER, days: float = 14,
             **named: object) -> str:
        expires = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
        return links.url(self.settings, Link(purpose, self.user.id, expires,
                                             **named))  # type: ignore[arg-type]


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    live = LiveServer()
    # Screenshots at two widths open each page twice: room above the per-address limit.
    ours = replace(settings, base_url=live.url, rate_limit_answer_link="300/minute")
    app = create_app(ours)
    live.serve(app)
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, "ana@acme-sales.com", PASSWORD, "Europe/Berlin")
        session.commit()
        session.expunge(user)
    yield Served(live.url, app, ours, user)
    live.stop()


def _shoot(page: Page, url: str, name: str) -> None:
    """Open `url` at each width, check nothing scrolls sideways, and keep a screenshot."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways at {width} px"
        page.screenshot(path=str(ARTIFACTS / f"link-{name}-{width}.png"), full_page=True)


def test_scanner_opens_change_nothing_and_confirm_records(served: Served, page: Page) -> None:
    prompt_id = seed_meetings(served.app, served.user, Seed("Contoso demo"))["Contoso demo"]
    yes = served.link(prompt_id=prompt_id, action=AnswerAction.YES)
    # A scanner: HEAD, GET, and a browser that runs the page's script, all without clicking.
    assert requests.head(yes, timeout=10).status_code == 200
    assert requests.get(yes, timeout=10).status_code == 200
    _shoot(page, yes, "confirm-yes")
    assert load(served.app, Prompt, prompt_id).status == "pending"

    page.click("button:has-text('Confirm: yes')")
    assert "Recorded: Yes" in page.inner_text("main")
    prompt = load(served.app, Prompt, prompt_id)
    assert (prompt.status, prompt.outcome) == ("answered", "yes")

    # A second button of the same email: the answer it has, and the way to change it.
    no = served.link(prompt_id=prompt_id, action=AnswerAction.NO)
    _shoot(page, no, "recorded")
    assert "Already answered" in page.inner_text("main")
    page.click("a:has-text('Change it in calsync')")
    assert "/login" in page.url  # the link signed nobody in
    assert load(served.app, Prompt, prompt_id).outcome == "yes"


def test_next_steps_prefilled_form_plans_the_follow_up(served: Served, page: Page) -> None:
    prompt_id = seed_meetings(served.app, served.user, Seed("Northwind call"))["Northwind call"]
    url = served.link(prompt_id=prompt_id, action=AnswerAction.NEXT_STEP)
    _shoot(page, url, "confirm-next-step")
    assert page.input_value("#summary").startswith("Follow up with")
    assert page.input_value("#time") == "10:00" and page.input_value("#date")
    page.fill("#summary", "Send the pilot proposal")
    page.click("button:has-text('Confirm: plan this next step')")
    assert "Next step planned: Send the pilot proposal" in page.inner_text("main")
    prompt = load(served.app, Prompt, prompt_id)
    followup = load(served.app, FollowUp, prompt.planned_followup_id)
    assert (prompt.outcome, followup.summary) == ("next_step", "Send the pilot proposal")


def test_forged_and_expired_links_get_the_clear_page(served: Served, page: Page) -> None:
    prompt_id = seed_meetings(served.app, served.user, Seed("Contoso demo"))["Contoso demo"]
    good = served.link(prompt_id=prompt_id, action=AnswerAction.YES)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    expired = served.link(days=-1, prompt_id=prompt_id, action=AnswerAction.YES)
    for name, url in (("forged", forged), ("expired", expired)):
        _shoot(page, url, name)
        text = page.inner_text("main")
        assert "This link can't be used" in text and "Nothing was changed." in text
        assert page.is_visible("a:has-text('Open your inbox')")
    assert "This link has expired." in page.inner_text("main")
    assert load(served.app, Prompt, prompt_id).status == "pending"


def test_one_click_unsubscribe_turns_prompt_emails_off(served: Served, page: Page) -> None:
    url = served.link(LinkPurpose.UNSUBSCRIBE)
    _shoot(page, url, "unsubscribe")
    assert load(served.app, User, served.user.id).email_prompts == "each"
    # What a mail provider sends (RFC 8058): a plain POST, no cookie, no CSRF token.
    response = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert response.status_code == 200
    assert load(served.app, User, served.user.id).email_prompts == "off"
    _shoot(page, url, "unsubscribed")
    assert "Prompt emails are off" in page.inner_text("main")


def test_follow_up_and_missed_pages_read_well(served: Served, page: Page) -> None:
    ids = seed_meetings(served.app, served.user, Seed("Contoso demo"), Seed("Fabrikam demo"))
    later = _plan(served, ids["Contoso demo"], datetime.now(UTC) + timedelta(days=2))
    past = _plan(served, ids["Fabrikam demo"], datetime.now(UTC) - timedelta(hours=3))
    _shoot(page, served.link(LinkPurpose.FOLLOWUP, followup_id=later), "followup-not-yet")
    assert "Not yet" in page.inner_text("main")
    _shoot(page, served.link(LinkPurpose.MISSED, followup_id=past,
                             reason=MissedReason.NO_TIME), "missed")
    page.check("input[value=other]")
    page.click("button:has-text('Confirm')")
    assert "say in a few words" in page.inner_text("main")  # Other needs a note
    page.fill("#note", "Travelling all week")
    page.click("button:has-text('Confirm')")
    assert "Reason noted" in page.inner_text("main")
    assert load(served.app, FollowUp, past).missed_reason == "other"
    # Its time has passed: once calsync asks about it, its link leads to the question.
    with served.app.app_context(), get_db().session() as session:
        prompts.create_due_prompts(session, served.settings, datetime.now(UTC),
                                   user_id=served.user.id)
    _shoot(page, served.link(LinkPurpose.FOLLOWUP, followup_id=past), "followup-choose")
    page.get_by_role("link", name="No", exact=True).click()
    assert "Mark it as a no?" in page.inner_text("main")


def _plan(served: Served, prompt_id: int, start: datetime) -> int:
    with served.app.app_context(), get_db().session() as session:
        step = NextStep("Call about the pilot", start, 30, "call")
        # Planned while its time was still ahead: a next step in the past is refused.
        result = answer_prompt(session, served.settings, session.get(User, served.user.id),
                               session.get(Prompt, prompt_id), Answer("next_step",
                                                                       next_step=step),
                               now=min(datetime.now(UTC), start - timedelta(hours=1)))
        assert result.followup is not None
        return result.followup.id

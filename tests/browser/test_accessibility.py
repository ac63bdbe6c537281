"""Every page checked by axe-core (from npm, tests/browser/package.json) in Debian's Chromium
at 1280 and 390 px wide: no serious or critical violation, and nothing scrolls sideways on a
phone. One test per page and width, so a failure names its page; a screenshot of each goes
to tests/artifacts/a11y-<page>-<width>.png.

One calsync serves every page: a newcomer with an empty inbox, and a rep with the sample
calendar, a dashboard's history (closed deals, a missed follow-up) and a Google account
connected through the emulator. The answer-link pages get links signed as the emails sign
them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import AnswerAction, MissedReason, PromptStatus
from calsync.emulator import GoogleEmulator
from calsync.models import Deal, Prompt, Source, User
from calsync.services import accounts, links, samples
from calsync.services.answers import Answer, NextStep, answer_prompt
from calsync.services.links import Link, LinkPurpose
from tests import databases
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.browser.conftest import chromium as launch_chromium
from tests.conftest import PASSWORD
from tests.dashboard_history import seed_history
from tests.servers.live_app import LiveServer

AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)
BLOCKING = ("serious", "critical")
CLIENT_ID = "calsync-a11y.apps.googleusercontent.example"
NEWCOMER, REP = "new@acme-sales.com", "rep@acme-sales.com"

# name -> who opens it: "out" (signed out), "new" (empty inbox) or "rep"; and its status.
PAGES: dict[str, tuple[str, int]] = {
    "signup": ("out", 200),
    "login": ("out", 200),
    "inbox-empty": ("new", 200),
    "inbox": ("rep", 200),
    "prompt": ("rep", 200),
    "deals": ("rep", 200),
    "deal": ("rep", 200),
    "sources": ("rep", 200),
    "source": ("rep", 200),
    "google-calendars": ("rep", 200),
    "google-error": ("out", 200),
    "settings": ("rep", 200),
    "coach": ("rep", 200),
    "dashboard": ("rep", 200),
    "link-yes": ("out", 200),
    "link-no": ("out", 200),
    "link-next-step": ("out", 200),
    "link-snooze": ("out", 200),
    "link-not-sales": ("out", 200),
    "link-recorded": ("out", 200),
    "link-not-yet": ("out", 200),
    "link-missed": ("out", 200),
    "link-refused": ("out", 400),
    "link-unsubscribe": ("out", 200),
    "not-found": ("rep", 404),
}


@dataclass
class Site:
    url: str
    paths: dict[str, str]  # page name -> path
    contexts: dict[str, BrowserContext]  # "out", "new", "rep"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    assert AXE.exists(), "axe-core is missing: `make test` runs npm ci --prefix tests/browser"
    with launch_chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(chromium: Browser, tmp_path_factory: pytest.TempPathFactory,
         migrated_template: Path | None) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("a11y")
    live = LiveServer()
    with databases.own_database(tmp, True, migrated_template) as database_url, \
            GoogleEmulator(auto_consent=True) as google:
        google.add_client(CLIENT_ID, "a11y-secret", redirect_uris=[f"{live.url}/google/callback"])
        google.add_account(REP, [{"id": "team@group.calendar.google.com",
                                  "summary": "Team Acme"}], name="Rep",
                           time_zone="America/Chicago")
        settings = Settings.from_env(
            {}, instance_path=tmp / "instance", database_url=database_url,
            secret_key="test-secret", allow_private_urls=True, queue_immediate=True,
            testing=True, base_url=live.url, google_client_id=CLIENT_ID,
            google_client_secret="a11y-secret", google_api_endpoint=google.api_endpoint,
            google_auth_uri=google.auth_uri, google_token_uri=google.token_uri,
            google_revoke_uri=google.revoke_uri, google_webhooks="off",
            # Each link page opens twice (two widths), several from one address.
            rate_limit_answer_link="300/minute")
        app = create_app(settings)
        live.serve(app)
        contexts = {who: chromium.new_context(timezone_id="America/Chicago", locale="en-US")
                    for who in ("out", "new", "rep")}
        try:
            paths = _set_up(app, settings, live.url, contexts)
            yield Site(live.url, paths, contexts)
        finally:
            for context in contexts.values():
                context.close()
            live.stop()
            with app.app_context():
                get_db().dispose()


def _set_up(app: Flask, settings: Settings, url: str,
            contexts: dict[str, BrowserContext]) -> dict[str, str]:
    """The two users, the rep's data, a signed-in context each; returns every page's path."""
    with app.app_context(), get_db().session() as session:
        for email in (NEWCOMER, REP):
            accounts.create_user(session, email, PASSWORD, "America/Chicago")
        session.commit()
        rep = session.scalar(select(User).where(User.email == REP))
        assert rep is not None
        samples.add_sample_source(session, rep, settings)
        session.expunge(rep)
    seed_history(app, rep)
    for who, email in (("new", NEWCOMER), ("rep", REP)):
        page = contexts[who].new_page()
        sign_in(page, url, email)
        if who == "rep":  # Google, through the emulator's consent, as a person connects it
            page.goto(f"{url}/sources")
            page.click("button:has-text('Connect Google Calendar')")
            page.wait_for_url(re.compile(rf"{url}/sources/\d+$"))
        page.close()

    with app.app_context(), get_db().session() as session:
        user = session.get(User, rep.id)
        assert user is not None

        def first(statement: Any) -> Any:
            found = session.scalars(statement).first()
            assert found is not None, statement
            return found

        # One waiting prompt per deal: answering one then leaves the others as they were
        # (an answer covers its own deal's older prompts).
        pending = list({prompt.deal_id: prompt for prompt in session.scalars(
            select(Prompt).where(Prompt.user_id == rep.id,
                                 Prompt.status == PromptStatus.PENDING)
            .order_by(Prompt.id.desc()))}.values())
        assert len(pending) >= 4, "the sample calendar and history made too few deals"
        answered = first(select(Prompt).where(Prompt.user_id == rep.id,
                                              Prompt.status == PromptStatus.ANSWERED))
        deal = first(select(Deal).where(Deal.user_id == rep.id).order_by(Deal.id))
        sample = first(select(Source).where(Source.user_id == rep.id,
                                            Source.name == samples.SAMPLE_NAME))
        connected = first(select(Source).where(Source.user_id == rep.id,
                                               Source.kind == "google"))
        # A follow-up still ahead, and one whose time passed unanswered (planned while it
        # was ahead: a next step in the past is refused), for the coach and the links.
        later = _plan(session, settings, user, pending[-1], timedelta(days=2))
        missed = _plan(session, settings, user, pending[-2], -timedelta(hours=3))
        ids = (pending[0].id, pending[1].id, answered.id, deal.id, sample.id, connected.id,
               missed, later)
    prompt_id, other_id, answered_id, deal_id, sample_id, google_id, missed_id, later_id = ids

    def link(purpose: LinkPurpose = LinkPurpose.ANSWER, **named: Any) -> str:
        expires = (datetime.now(UTC) + timedelta(days=14)).replace(microsecond=0)
        return links.url(settings, Link(purpose, rep.id, expires, **named)).removeprefix(url)

    yes = link(prompt_id=prompt_id, action=AnswerAction.YES)
    return {
        "signup": "/signup", "login": "/login", "inbox-empty": "/", "inbox": "/",
        "prompt": f"/prompts/{prompt_id}", "deals": "/deals", "deal": f"/deals/{deal_id}",
        "sources": "/sources", "source": f"/sources/{sample_id}",
        "google-calendars": f"/sources/{google_id}/calendars",
        "google-error": "/google/callback?error=access_denied&state=unknown",
        "settings": "/settings", "coach": "/coach", "dashboard": "/dashboard",
        "link-yes": yes,
        "link-no": link(prompt_id=prompt_id, action=AnswerAction.NO),
        "link-next-step": link(prompt_id=other_id, action=AnswerAction.NEXT_STEP),
        "link-snooze": link(prompt_id=other_id, action=AnswerAction.SNOOZE),
        "link-not-sales": link(prompt_id=other_id, action=AnswerAction.NOT_SALES),
        "link-recorded": link(prompt_id=answered_id, action=AnswerAction.YES),
        "link-not-yet": link(LinkPurpose.FOLLOWUP, followup_id=later_id),
        "link-missed": link(LinkPurpose.MISSED, followup_id=missed_id,
                            reason=MissedReason.NO_TIME),
        "link-refused": yes[:-4] + ("AAAA" if not yes.endswith("AAAA") else "BBBB"),
        "link-unsubscribe": link(LinkPurpose.UNSUBSCRIBE),
        "not-found": "/no-such-page",
    }


def _plan(session: Session, settings: Settings, user: User, prompt: Prompt,
          after: timedelta) -> int:
    """A next step `after` from now answering `prompt`; the follow-up's id."""
    start = datetime.now(UTC) + after
    result = answer_prompt(session, settings, user, prompt, Answer(
        "next_step", next_step=NextStep("Call about the pilot", start, 30, "call")),
        now=min(datetime.now(UTC), start - timedelta(hours=1)))
    assert result.followup is not None
    return result.followup.id


# Parts of the page that scroll sideways on their own (a wide table in its wrapper): on a
# phone that hides columns; a text field scrolling its own text is fine.
SCROLLERS = """() => [...document.querySelectorAll('main *')]
  .filter(e => !['INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName)
          && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
          && e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className}`)"""


def _violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it stands. Injected through
    the DevTools protocol: the app's CSP rightly refuses an inline script."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def _explain(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [json.dumps(node["target"]) for node in v["nodes"][:6]]
        more = f" (+{len(v['nodes']) - 6} more)" if len(v["nodes"]) > 6 else ""
        lines.append(f"{v['id']} [{v['impact']}] {v['help']}: {', '.join(targets)}{more}")
    return "\n".join(lines)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_page_is_accessible_and_fits(site: Site, name: str, width: int) -> None:
    who, status = PAGES[name]
    page = site.contexts[who].new_page()
    try:
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(site.url + site.paths[name])
        assert response is not None and response.status == status, (name, response)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"a11y-{name}-{width}.png"), full_page=True)
        found = _violations(page)
        assert not found, f"{name} at {width} px:\n{_explain(found)}"
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name} scrolls sideways at {width} px ({wide} px wide)"
        inner = page.evaluate(SCROLLERS)
        assert not inner, f"{name} at {width} px: a part scrolls sideways (cards instead?) {inner}"
    finally:
        page.close()


# WTForms' own words, which no salesperson should read.
WTFORMS_WORDS = ("Number must be", "Not a valid integer", "This field is required",
                 "Field must be", "Field cannot be")


def _refuse_sign_up(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/signup")
    page.evaluate("document.querySelector('form.stack').noValidate = true")  # the server's turn
    page.fill("input[name=email]", "someone@acme-sales.com")
    page.fill("input[name=password]", "short")
    page.click("form.stack button[type=submit]")
    page.locator("p.error").first.wait_for()  # the page sent back
    assert page.get_attribute("input[name=password]", "aria-invalid") == "true"
    assert page.get_attribute("input[name=email]", "aria-invalid") is None


def _refuse_cadence(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/settings")
    page.evaluate("document.querySelector('#cadence form').noValidate = true")
    page.fill("#gaps_days", "")
    page.fill("#usual_low", "0")
    page.fill("#usual_hour", "")
    page.fill("#default_duration_minutes", "0")
    page.click("button:has-text('Save cadence')")
    page.locator("#error-summary").wait_for()  # the page sent back
    for field in ("gaps_days", "usual_low", "default_duration_minutes"):
        assert page.locator(f"#{field}-error").is_visible(), field
    shown = page.inner_text("main")
    assert not [words for words in WTFORMS_WORDS if words in shown], shown


def _refuse_missed_reason(page: Page, site: Site) -> None:
    page.goto(site.url + site.paths["link-missed"])
    page.check("input[value=other]")  # "Other" needs a note
    page.click("button:has-text('Confirm')")
    page.locator("#note-error").wait_for()  # the page sent back
    assert page.get_attribute("#note", "aria-invalid") == "true"
    assert page.get_attribute("#note", "aria-describedby") == "note-error"


REFUSED = {"signup-refused": ("out", _refuse_sign_up),
           "settings-refused": ("rep", _refuse_cadence),
           "link-missed-refused": ("out", _refuse_missed_reason)}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_form_is_accessible_and_fits(site: Site, name: str, width: int) -> None:
    """A form sent back with its problems (the browser's own checks off: the server's turn):
    each said beside its field in a salesperson's words, the page still passing axe and
    fitting the width."""
    who, refuse = REFUSED[name]
    page = site.contexts[who].new_page()
    try:
        page.set_viewport_size({"width": width, "height": 900})
        refuse(page, site)
        page.screenshot(path=str(ARTIFACTS / f"a11y-{name}-{width}.png"), full_page=True)
        found = _violations(page)
        assert not found, f"{name} at {width} px:\n{_explain(found)}"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        page.close()


# Where Tab went: the focused element, whether it comes after the one before it in the
# document, and whether it is on screen (a phone's width) with a size.
FOCUSED = """() => {
  const now = document.activeElement;
  if (!now || now === document.body) return null;
  const box = now.getBoundingClientRect();
  const label = (now.tagName + ' ' + (now.id ? '#' + now.id + ' ' : '')
                 + (now.innerText || now.name || now.getAttribute('aria-label') || '')
                 ).trim().slice(0, 60);
  const after = !window.__lastFocus || window.__lastFocus === now ||
      !!(window.__lastFocus.compareDocumentPosition(now) & Node.DOCUMENT_POSITION_FOLLOWING);
  window.__lastFocus = now;
  return {label, after, shown: box.width > 0 && box.height > 0 && box.left >= 0
          && box.right <= window.innerWidth + 1};
}"""


@pytest.mark.parametrize("name", list(PAGES))
def test_tab_goes_through_the_page_in_order(site: Site, name: str) -> None:
    """On a phone, Tab starts at the skip link and moves down the page, never to something
    hidden or off to the side, and never back up."""
    page = site.contexts[PAGES[name][0]].new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(site.url + site.paths[name])
        stops: list[dict[str, Any]] = []
        for _ in range(400):  # far more than any page has
            page.keyboard.press("Tab")
            stop = page.evaluate(FOCUSED)
            if stop is None or (stops and stop["label"] == stops[0]["label"]):
                break  # past the last one
            stops.append(stop)
        assert stops and stops[0]["label"] == "A Skip to content", stops[:1]
        wrong = [s["label"] for s in stops if not (s["after"] and s["shown"])]
        assert not wrong, f"{name}: Tab goes back up or off screen at {wrong}"
    finally:
        page.close()


def test_the_checks_find_what_they_should(site: Site) -> None:
    """The checks themselves: a control without a label and an image without words fail
    axe; a table too wide for a phone counts as a part that scrolls sideways."""
    page = site.contexts["out"].new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(site.url + "/login")
        assert page.evaluate(SCROLLERS) == []
        page.evaluate("""() => document.querySelector('main').insertAdjacentHTML('beforeend',
            '<input type="text" name="stray"><img src="/favicon.svg">'
            + '<div class="table-wrap"><table><tr><td>' + 'wide '.repeat(40).replaceAll(' ', '_')
            + '</td></tr></table></div>')""")
        found = {v["id"] for v in _violations(page)}
        assert {"label", "image-alt"} <= found, found
        assert page.evaluate(SCROLLERS) == ["div.table-wrap"]
    finally:
        page.close()


def test_the_skip_link_is_first_and_takes_focus_to_the_content(site: Site) -> None:
    page = site.contexts["rep"].new_page()
    try:
        page.goto(site.url + "/")
        page.keyboard.press("Tab")
        skip = page.locator(":focus")
        assert skip.inner_text() == "Skip to content" and skip.is_visible()
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#content"
        # The next Tab lands inside the content, past the navigation.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('main') !== null")
    finally:
        page.close()


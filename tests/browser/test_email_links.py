"""The links of a prompt email as it arrives: calsync on a loopback port sends it to a real
SMTP server (aiosmtpd), the test parses it with the `email` package and opens its links
signed out in Debian's Chromium, and POSTs its List-Unsubscribe the way a mail provider
does."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.meeting import Attendee
from calsync.models import FollowUp, Prompt, Source, User
from calsync.services import links
from tests.mail.conftest import (
    Mailbox,
    mail_entries,
    mailbox,
    meeting,
    meetings_end,
    source,
)
from tests.servers.live_app import LiveServer

__all__ = ["mailbox", "source"]  # the mail tests' SMTP server and in-memory calendar

NORTHWIND = (Attendee("nina@northwind.example", "Nina North", "accepted"),)


@dataclass
class Served:
    url: str
    app: Flask
    settings: Settings

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session of the served app: what it commits sends the app's emails."""
        with self.app.app_context(), get_db().session() as session:
            yield session

    def row(self, model: type, row_id: int) -> Any:
        with self.session() as session:
            found = session.get(model, row_id)
            session.expunge_all()
            return found


@pytest.fixture
def served(settings: Settings, mailbox: Mailbox) -> Iterator[Served]:
    """calsync on a loopback port, its BASE_URL that port, its SMTP_URL the test server."""
    live = LiveServer()
    ours = replace(settings, base_url=live.url, smtp_url=mailbox.url, mail_timeout_seconds=5)
    app = create_app(ours)
    live.serve(app)
    yield Served(live.url, app, ours)
    live.stop()
    with app.app_context():
        get_db().dispose()


class _Anchors(HTMLParser):
    """Each <a>'s text and href, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self.found.append(("", self._href))

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self.found[-1] = (self.found[-1][0] + data.strip(), self._href)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None


def html_links(message: EmailMessage) -> dict[str, str]:
    """The email's HTML part's links, by their words ("Yes", "Stop these emails", ...)."""
    part = message.get_body(("html",))
    assert part is not None, "the email has no HTML part"
    anchors = _Anchors()
    anchors.feed(part.get_content())
    return dict(anchors.found)


def unsubscribe_url(message: EmailMessage) -> str:
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<") and header.endswith(">"), header
    return header[1:-1]


def forge(url: str) -> str:
    """`url` with one character of its signature changed (mid-way: the last character's
    low bits are padding, which base64 decoding ignores)."""
    cut = url.rindex(".") + (len(url) - url.rindex(".")) // 2
    return url[:cut] + ("A" if url[cut] != "A" else "B") + url[cut + 1:]


def receive(served: Served, mailbox: Mailbox, source: Source, now: datetime,
            *held: Any) -> tuple[list[Prompt], dict[int, EmailMessage]]:
    """The calendar holds `held`; a sync at `now` prompts those that ended, and the emails
    that went out are returned by the prompt their Message-ID names."""
    with served.session() as session:
        user = session.get(User, source.user_id)
        assert user is not None
        # Quiet hours that start two hours from now: the emails go out whenever this runs.
        hour = now.astimezone(ZoneInfo(user.timezone)).hour
        user.quiet_start, user.quiet_end = time((hour + 2) % 24), time((hour + 3) % 24)
        session.commit()
        found = meetings_end(session, served.settings, source, now, *held)
        session.expunge_all()
    return found, {prompt_of(message): message for message in mailbox.messages}


def prompt_of(message: EmailMessage) -> int:
    """The prompt an email asks about, from its Message-ID <calsync.prompt.ID@host>."""
    named = re.fullmatch(r"<calsync\.prompt\.(\d+)@[^>]+>", str(message["Message-ID"]))
    assert named is not None, message["Message-ID"]
    return int(named[1])


def test_answer_links_from_a_received_email(served: Served, mailbox: Mailbox, source: Source,
                                            page: Page) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    (contoso, northwind), emails = receive(
        served, mailbox, source, now, meeting("contoso", now - timedelta(minutes=20),
                                              "Contoso demo"),
        meeting("northwind", now - timedelta(minutes=15), "Northwind call", NORTHWIND))
    assert sorted(emails) == sorted([contoso.id, northwind.id])  # one email each
    assert emails[contoso.id]["Subject"] == "How did it go? Contoso demo"
    buttons = html_links(emails[contoso.id])
    assert {"Yes", "No", "Next step", "Snooze", "Not a sales meeting"} <= set(buttons)
    yes = buttons["Yes"]
    assert yes.startswith(f"{served.url}/a/")

    # A mail scanner: HEAD, GET, and a browser that renders the page without clicking.
    assert requests.head(yes, timeout=10).status_code == 200
    assert requests.get(yes, timeout=10).status_code == 200
    assert page.goto(yes).status == 200  # type: ignore[union-attr]
    assert "Mark it as a yes?" in page.inner_text("main")
    assert served.row(Prompt, contoso.id).status == "pending"

    page.click("button:has-text('Confirm: yes')")
    assert "Recorded: Yes" in page.inner_text("main")
    answered = served.row(Prompt, contoso.id)
    assert (answered.status, answered.outcome) == ("answered", "yes")

    page.goto(yes)  # the same button again: the answer it has, nothing to confirm
    text = page.inner_text("main")
    assert "Already answered" in text and "Yes" in text
    assert page.locator("button:has-text('Confirm')").count() == 0
    assert served.row(Prompt, contoso.id).answered_at == answered.answered_at

    # Northwind's email: a forged and an expired copy of its Yes are refused, no change.
    northwind_buttons = html_links(emails[northwind.id])
    signed = links.read(served.settings, northwind_buttons["Yes"].rsplit("/", 1)[1])
    expired = links.url(served.settings, replace(signed, expires=now - timedelta(minutes=1)))
    for url, why in ((forge(northwind_buttons["Yes"]), "not one calsync made"),
                     (expired, "This link has expired.")):
        assert page.goto(url).status == 400  # type: ignore[union-attr]
        text = page.inner_text("main")
        assert "This link can't be used" in text and why in text
        assert "Nothing was changed." in text
    assert served.row(Prompt, northwind.id).status == "pending"

    # Next step: opening it shows the cadence's suggestion filled in; Confirm plans it.
    page.goto(northwind_buttons["Next step"])
    assert page.input_value("#summary").startswith("Follow up with")
    day, at = page.input_value("#date"), page.input_value("#time")
    assert day and at
    assert served.row(Prompt, northwind.id).status == "pending"
    page.fill("#summary", "Send the pilot proposal")
    page.click("button:has-text('Confirm: plan this next step')")
    assert "Next step planned: Send the pilot proposal" in page.inner_text("main")
    planned = served.row(Prompt, northwind.id)
    assert (planned.status, planned.outcome) == ("answered", "next_step")
    followup = served.row(FollowUp, planned.planned_followup_id)
    assert (followup.summary, followup.user_id, followup.deal_id, followup.status) == (
        "Send the pilot proposal", source.user_id, planned.deal_id, "planned")
    zone = ZoneInfo(served.row(User, source.user_id).timezone)
    assert followup.start == datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=zone)
    assert served.row(Prompt, contoso.id).outcome == "yes"  # the other prompt untouched


def test_one_click_unsubscribe_from_the_received_email(served: Served, mailbox: Mailbox,
                                                       source: Source) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    demo = meeting("demo", now - timedelta(minutes=20), "Contoso demo")
    (prompt,), emails = receive(served, mailbox, source, now, demo)
    url = unsubscribe_url(emails[prompt.id])
    assert url.startswith(f"{served.url}/u/")
    assert html_links(emails[prompt.id])["Stop these emails"] == url
    assert served.row(User, source.user_id).email_prompts == "each"

    # RFC 8058, as a mail provider sends it: a plain POST, no cookie, no CSRF token.
    one_click = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST")
    with urllib.request.urlopen(one_click, timeout=10) as response:
        assert response.status == 200
    assert served.row(User, source.user_id).email_prompts == "off"

    later = meeting("later", now - timedelta(minutes=10), "Fabrikam call", NORTHWIND)
    found, _ = receive(served, mailbox, source, now + timedelta(minutes=1), demo, later)
    assert len(found) == 2 and found[1].status == "pending"  # the prompt is made ...
    with served.session() as session:
        assert len(mail_entries(session)) == 1  # ... and no email recorded for it
    assert len(mailbox.messages) == 1

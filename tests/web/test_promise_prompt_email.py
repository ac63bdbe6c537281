"""A promise's prompt email asks "Delivered?" with Delivered and Not yet links first (its
deadline, kind and value shown), the usual answers after them; each link's page only shows
what it would do, and its Confirm records through the services the prompt's page uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import FollowUpKind, FollowUpStatus
from calsync.jobs import prompt_mail as mail_jobs
from calsync.mail import messages
from calsync.models import FollowUp, Prompt, User
from calsync.services import links
from calsync.services.links import LinkPurpose, PromiseAnswer
from tests.conftest import csrf_from
from tests.web.conftest import Seed, load, seed_meetings
from tests.web.promise_due import SUMMARY, VALUE, DuePromise, due_promise


def _email(app: Flask, user: User, *prompt_ids: int) -> EmailMessage:
    """The prompt's own email for one prompt, the day's summary for several."""
    settings: Settings = app.extensions["calsync.settings"]
    now = datetime.now(UTC)
    with app.app_context(), get_db().session() as session:
        owner = session.get(User, user.id)
        assert owner is not None
        waiting = [session.get(Prompt, pid) for pid in prompt_ids]
        cards = mail_jobs.cards(session, settings, owner, waiting, now)  # type: ignore[arg-type]
        to = messages.Recipient(owner.id, owner.email, ZoneInfo(owner.timezone))
        if len(cards) == 1:
            return messages.prompt_email(settings, to, cards[0], now)
        return messages.summary_email(settings, to, cards, now.date(), now)


def _parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return str(text.get_content()), str(html.get_content())


def _button(text: str, label: str) -> str:
    """The path of the button `label` in the plain part."""
    found = re.search(rf"^{label}: \S+(/a/\S+)$", text, re.MULTILINE)
    assert found, text
    return found.group(1)


def test_a_promise_email_asks_delivered_first(app: Flask, user: User) -> None:
    settings: Settings = app.extensions["calsync.settings"]
    promise = due_promise(app, user)
    message = _email(app, user, promise.prompt)
    text, html = _parts(message)
    assert message["Subject"] == f"Delivered? {SUMMARY}"
    assert text.startswith("Delivered?\n")
    assert f"{SUMMARY} (Promise)" in text
    assert re.search(rf"^Promised for \w{{3}} \d{{1,2}} \w{{3}} \d\d:\d\d: {VALUE}$", text,
                     re.MULTILINE), text
    card = text.split("\n--\n")[0]
    labels = re.findall(r"^([A-Z][\w ]+): https?://", card, re.MULTILINE)
    assert labels == ["Delivered", "Not yet", "Yes", "No", "Next step", "Snooze",
                      "Not a sales meeting"]
    assert text.index("Not yet: ") < text.index("Something else happened:") < text.index("Yes: ")
    # Both lead to the promise's follow-up, each naming its answer.
    for label, answer in (("Delivered", PromiseAnswer.DELIVERED),
                          ("Not yet", PromiseAnswer.NOT_YET)):
        link = links.read(settings, _button(text, label).rsplit("/", 1)[1])
        assert (link.purpose, link.user_id, link.followup_id, link.promise) == (
            LinkPurpose.FOLLOWUP, user.id, promise.followup, answer)
    # Delivered and Not yet are the email's big buttons; the answers come as lesser ones.
    primary = re.findall(r'background:#1f5fbf[^>]*>([^<]+)</a>', html)
    assert primary == ["Delivered", "Not yet"]
    assert "<strong>Promised for" in html and "Promise</span>" in html


def _open_and_confirm(client: FlaskClient, path: str, answer: str) -> str:
    page = client.get(path).get_data(as_text=True)
    # The proposed answer is the page's main button; opening it recorded nothing.
    assert re.search(rf'name="promise" value="{answer}" class="primary"', page), page
    return client.post(path, data={"csrf_token": csrf_from(page), "promise": answer},
                       follow_redirects=True).get_data(as_text=True)


def test_delivered_from_the_email_records_it_and_plans_the_follow_through(
        app: Flask, client: FlaskClient, user: User) -> None:
    promise = due_promise(app, user)
    text, _html = _parts(_email(app, user, promise.prompt))
    delivered = _button(text, "Delivered")
    client.get(delivered)
    client.head(delivered)  # a mail scanner's visit
    assert load(app, FollowUp, promise.followup).delivered_at is None

    done = _open_and_confirm(client, delivered, "delivered")
    assert "Delivered early. Follow-through planned for" in done
    kept = load(app, FollowUp, promise.followup)
    assert kept.delivered_at is not None and kept.status is FollowUpStatus.DONE
    with app.app_context(), get_db().session() as session:
        through = session.scalar(select(FollowUp).where(
            FollowUp.deal_id == kept.deal_id, FollowUp.kind == FollowUpKind.FOLLOW_THROUGH))
        assert through is not None and through.status is FollowUpStatus.PLANNED
    # The same link again shows what was recorded and changes nothing.
    again = client.get(delivered).get_data(as_text=True)
    assert "<dt>Promise</dt><dd>delivered early</dd>" in again


def test_not_yet_from_the_email_moves_the_work_before_the_deadline(
        app: Flask, client: FlaskClient, user: User) -> None:
    promise: DuePromise = due_promise(app, user)
    text, _html = _parts(_email(app, user, promise.prompt))
    moved = _open_and_confirm(client, _button(text, "Not yet"), "not_yet")
    assert "Not delivered yet: calsync asks again" in moved
    work = load(app, FollowUp, promise.followup)
    assert work.delivered_at is None and work.end <= promise.due
    assert work.start > datetime.now(UTC)


def test_the_summary_asks_delivered_only_of_the_promise(app: Flask, user: User) -> None:
    promise = due_promise(app, user)
    plain = seed_meetings(app, user, Seed("Northwind call", hours_ago=2))["Northwind call"]
    text, _html = _parts(_email(app, user, plain, promise.prompt))
    northwind, contoso = text.split("Northwind call", 1)[1].split(SUMMARY)
    assert "Delivered:" not in northwind and "Yes: " in northwind
    assert "Delivered: " in contoso and "Something else happened:" in contoso

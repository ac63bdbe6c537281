"""Prompt emails end to end, through a real SMTP server on loopback: one email per prompt
with both parts and the headers, none for a prompt answered first, quiet hours, retries
through an outage and the failure shown, a refused address, crashes, and the summary."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import AnswerAction, EmailPrompts, OutboxStatus, PromptStatus
from calsync.jobs import effects, outbox
from calsync.jobs import prompt_mail as mail_jobs
from calsync.mail import messages
from calsync.models import Source, User
from calsync.services import answers, links, prompt_mail
from tests.mail.conftest import (
    Mailbox,
    free_port,
    mail_entries,
    meeting,
    meetings_end,
    process,
)

BERLIN = ZoneInfo("Europe/Berlin")
ACTIONS = [AnswerAction.YES, AnswerAction.NO, AnswerAction.NEXT_STEP, AnswerAction.SNOOZE,
           AnswerAction.NOT_SALES]


def berlin(hour: int, minute: int = 0, day: int = 4) -> datetime:
    """A fixed clock: March 2031 in Berlin (CET), years after any real run, so the queue's
    own immediate attempt finds nothing due and each test hands entries over itself."""
    return datetime(2031, 3, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def me(session: Session, user: User) -> User:
    found = session.get(User, user.id)
    assert found is not None
    return found


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def answer_links(settings: Settings, text: str, now: datetime) -> list[links.Link]:
    return [links.read(settings, token, now=now)
            for token in re.findall(r"https://calsync\.example/a/(\S+)", text)]


@pytest.mark.parametrize("mailbox", ["plain", "starttls"], indirect=True)
def test_a_prompt_email_arrives_once_with_both_parts_and_its_headers(
        db_session: Session, settings: Settings, source: Source, user: User,
        mailbox: Mailbox) -> None:
    owner = me(db_session, user)
    owner.quiet_start = owner.quiet_end = time(0)  # no quiet hours, whenever the test runs
    db_session.commit()
    now = datetime.now(UTC).replace(microsecond=0)
    held = meeting("demo", now - timedelta(minutes=15))
    prompt, = meetings_end(db_session, settings, source, now, held)

    # The commit that made the prompt due queued its email, and the queue ran it.
    message, = mailbox.messages
    assert message["To"] == owner.email
    assert message["From"] == "calsync <calsync@calsync.example>"
    assert message["Subject"] == "How did it go? Demo with Prospect"
    assert message["Message-ID"] == f"<calsync.prompt.{prompt.id}@calsync.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<https://calsync\.example/u/(\S+)>",
                               str(message["List-Unsubscribe"]))
    assert unsubscribe is not None
    assert links.read(settings, unsubscribe[1]).purpose is links.LinkPurpose.UNSUBSCRIBE
    assert message.get_content_type() == "multipart/alternative"
    text, html = text_and_html(message)
    when = messages.span(held.start, held.end, BERLIN)
    for part in (text, html):
        assert "Demo with Prospect" in part and when in part
        assert "Bea Buyer &lt;buyer@prospect.example&gt;" in part or \
            "Bea Buyer <buyer@prospect.example>" in part
        assert "touch 1 of a usual 5-7" in part
        assert "Touch 2 of a usual 5-7: follow up" in part
    shown = answer_links(settings, text, now)
    assert [link.action for link in shown] == ACTIONS
    assert {(link.user_id, link.prompt_id) for link in shown} == {(owner.id, prompt.id)}
    assert html.count('href="https://calsync.example/a/') == len(ACTIONS)

    # The next sync, the tick, and every worker after it: still one email.
    meetings_end(db_session, settings, source, now + timedelta(minutes=1), held)
    entry, = mail_entries(db_session)
    assert entry.status == OutboxStatus.DONE
    assert process(settings, entry.id, now + timedelta(hours=1)) is None
    assert len(mailbox.messages) == 1


def test_quiet_hours_hold_the_email_until_they_end(
        db_session: Session, settings: Settings, source: Source, mailbox: Mailbox) -> None:
    meetings_end(db_session, settings, source, berlin(21, 15),
                 meeting("late", berlin(21)))
    entry, = mail_entries(db_session)
    assert entry.next_attempt_at == berlin(7, day=5)  # the default quiet hours: 20:00-07:00

    assert process(settings, entry.id, berlin(6, 59, day=5)) is None
    assert mailbox.messages == []
    done = process(settings, entry.id, berlin(7, day=5))
    assert done is not None and done.status == OutboxStatus.DONE
    assert len(mailbox.messages) == 1


def test_a_prompt_answered_before_its_email_goes_out_gets_none(
        db_session: Session, settings: Settings, source: Source, user: User,
        mailbox: Mailbox) -> None:
    prompt, = meetings_end(db_session, settings, source, berlin(21, 15),
                           meeting("late", berlin(21)))
    answers.answer_prompt(db_session, settings, me(db_session, user), prompt,
                          answers.Answer("yes"), now=berlin(22))
    entry, = mail_entries(db_session)
    done = process(settings, entry.id, berlin(7, day=5))
    assert done is not None and done.status == OutboxStatus.DONE
    assert mailbox.messages == []


def test_an_outage_is_retried_until_the_server_takes_the_email(
        db_session: Session, settings: Settings, source: Source, user: User,
        mailbox: Mailbox) -> None:
    meetings_end(db_session, settings, source, berlin(11), meeting("demo", berlin(10, 30)))
    entry, = mail_entries(db_session)
    down = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    mailbox.busy = True

    for attempt, (config, answer) in enumerate(((down, "refused the connection"),
                                                (settings, "451 4.3.0 Mailbox busy")), 1):
        with get_db().session() as worker:
            effects.process(worker, config, entry.id, now=berlin(11, attempt))
        entry, = mail_entries(db_session)
        assert (entry.status, entry.attempts) == (OutboxStatus.PENDING, attempt)
        assert answer in (entry.last_error or "")
        assert entry.next_attempt_at > berlin(11, attempt)
        assert prompt_mail.last_failure(db_session, me(db_session, user)) is None  # not final

    mailbox.busy = False
    done = process(settings, entry.id, entry.next_attempt_at)
    assert done is not None and done.status == OutboxStatus.DONE
    assert len(mailbox.messages) == 1
    assert prompt_mail.last_failure(db_session, me(db_session, user)) is None


def test_an_outage_that_never_passes_is_shown_with_the_servers_answer(
        db_session: Session, settings: Settings, source: Source, user: User,
        mailbox: Mailbox) -> None:
    prompt, = meetings_end(db_session, settings, source, berlin(11),
                           meeting("demo", berlin(10, 30)))
    entry, = mail_entries(db_session)
    mailbox.busy = True
    while entry.status == OutboxStatus.PENDING:
        process(settings, entry.id, entry.next_attempt_at)
        entry, = mail_entries(db_session)
    assert (entry.status, entry.attempts) == (OutboxStatus.FAILED, outbox.MAX_ATTEMPTS)
    assert mailbox.messages == []
    shown = prompt_mail.last_failure(db_session, me(db_session, user))
    assert shown == "The mail server did not take the email: 451 4.3.0 Mailbox busy, try " \
                    "again later"
    db_session.refresh(prompt)
    assert prompt.status == PromptStatus.PENDING  # the question still waits in the inbox


def test_a_refused_address_is_recorded_and_not_retried(
        db_session: Session, settings: Settings, source: Source, user: User,
        mailbox: Mailbox) -> None:
    mailbox.refuse_recipient = True
    meetings_end(db_session, settings, source, berlin(11), meeting("demo", berlin(10, 30)))
    entry, = mail_entries(db_session)
    process(settings, entry.id, berlin(11))

    entry, = mail_entries(db_session)
    assert (entry.status, entry.attempts) == (OutboxStatus.FAILED, 1)
    owner = me(db_session, user)
    assert owner.email_refused_at is not None
    assert (owner.email_refused_reason or "").startswith("550 5.1.1")
    shown = prompt_mail.last_failure(db_session, owner)
    assert shown is not None and owner.email in shown and "550 5.1.1" in shown
    # The next meeting's prompt asks for no email to that address.
    meetings_end(db_session, settings, source, berlin(15),
                 meeting("demo", berlin(10, 30)), meeting("second", berlin(14)))
    assert len(mail_entries(db_session)) == 1


def test_a_worker_that_dies_holding_the_email_leaves_it_to_the_next_once(
        db_session: Session, settings: Settings, source: Source, mailbox: Mailbox) -> None:
    meetings_end(db_session, settings, source, berlin(11), meeting("demo", berlin(10, 30)))
    entry, = mail_entries(db_session)
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    with get_db().session() as dying:
        assert outbox.claim(dying, entry.id, berlin(11), berlin(11) + lease)  # then the worker dies

    assert process(settings, entry.id, berlin(11, 1)) is None  # still held: nobody sends
    assert process(settings, entry.id, berlin(11) + lease) is not None
    assert process(settings, entry.id, berlin(12)) is None
    assert len(mailbox.messages) == 1


def test_a_crash_after_the_hand_over_resends_the_very_same_message(
        db_session: Session, settings: Settings, source: Source, mailbox: Mailbox) -> None:
    """At least once: the server took it but the worker died before recording that. The
    second hand-over has the first's Message-ID, which mail apps show once."""
    meetings_end(db_session, settings, source, berlin(11), meeting("demo", berlin(10, 30)))
    entry, = mail_entries(db_session)
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    with get_db().session() as dying:
        assert outbox.claim(dying, entry.id, berlin(11), berlin(11) + lease)
        mail_jobs.send_prompt(dying, settings, outbox.load(dying, entry.id))
        dying.rollback()  # died before marking the entry done

    process(settings, entry.id, berlin(11) + lease)
    first, second = mailbox.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert mail_entries(db_session)[0].status == OutboxStatus.DONE


def test_recording_a_prompts_email_twice_keeps_one_entry(
        db_session: Session, settings: Settings, source: Source) -> None:
    prompt, = meetings_end(db_session, settings, source, berlin(11),
                           meeting("demo", berlin(10, 30)))
    prompt_mail.prompts_due(db_session, settings, [prompt], berlin(11, 5))
    db_session.commit()
    assert [e.key for e in mail_entries(db_session)] == [f"prompt-email:{prompt.id}"]


def test_summary_mode_sends_one_email_with_the_days_waiting_prompts(
        db_session: Session, settings: Settings, source: Source, user: User,
        mailbox: Mailbox) -> None:
    owner = me(db_session, user)
    owner.email_prompts, owner.summary_hour = EmailPrompts.SUMMARY, 17
    db_session.commit()
    held = [meeting("morning", berlin(10)), meeting("noon", berlin(13), title="Pricing call"),
            meeting("afternoon", berlin(15), title="Pilot review")]
    for hour, upto in ((10, 1), (13, 2), (15, 3)):
        found = meetings_end(db_session, settings, source, berlin(hour, 15), *held[:upto])
    morning, noon, afternoon = found
    entry, = mail_entries(db_session)
    assert entry.key == f"prompt-summary:{owner.id}:2031-03-04"
    assert entry.next_attempt_at == berlin(17)
    answers.answer_prompt(db_session, settings, me(db_session, user), morning,
                          answers.Answer("yes"), now=berlin(16))
    # A meeting ending after the summary hour waits for tomorrow's.
    meetings_end(db_session, settings, source, berlin(18, 15), *held,
                 meeting("evening", berlin(18)))
    assert [e.key for e in mail_entries(db_session)] == [
        f"prompt-summary:{owner.id}:2031-03-04", f"prompt-summary:{owner.id}:2031-03-05"]

    assert process(settings, entry.id, berlin(16, 59)) is None
    process(settings, entry.id, berlin(17))
    message, = mailbox.messages
    assert message["Subject"] == "How did they go? 2 meetings waiting for an answer"
    assert message["Message-ID"] == f"<calsync.summary.{owner.id}.2031-03-04@calsync.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = text_and_html(message)
    assert "Pricing call" in html and "Pilot review" in html and "Demo with" not in html
    shown = answer_links(settings, text, datetime.now(UTC))  # made as it was sent
    assert [(link.prompt_id, link.action) for link in shown] == [
        (p.id, action) for p in (noon, afternoon) for action in ACTIONS]


def test_no_email_is_recorded_when_it_is_off(
        db_session: Session, settings: Settings, source: Source, user: User) -> None:
    owner = me(db_session, user)
    owner.email_prompts = EmailPrompts.OFF
    db_session.commit()
    meetings_end(db_session, settings, source, berlin(11), meeting("a", berlin(10, 30)))
    owner.email_prompts = EmailPrompts.EACH
    db_session.commit()
    unset = replace(settings, smtp_url="")
    meetings_end(db_session, unset, source, berlin(12), meeting("a", berlin(10, 30)),
                 meeting("b", berlin(11, 30)))
    assert mail_entries(db_session) == []

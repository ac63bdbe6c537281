"""The coach's email: due at each user's hour on working days in their zone (across DST
changes), once per local day, sent to a real SMTP server with one-click reason links."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.vocabulary import FollowUpKind, FollowUpStatus
from calsync.jobs import digest
from calsync.models import OutboxEntry, User
from calsync.services import links
from calsync.services.links import LinkPurpose
from tests.coach.history import (
    NOW,
    Week,
    add_deal,
    add_followup,
    add_prompt,
    local,
    make_week,
)
from tests.mail.conftest import Mailbox, process

BERLIN_EIGHT_CET = datetime(2024, 3, 29, 7, 0, tzinfo=UTC)  # Friday, before Berlin's change


def keys(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(OutboxEntry.key).where(OutboxEntry.kind == digest.KIND)
                                .order_by(OutboxEntry.id)))


def entry_of(session: Session) -> OutboxEntry:
    session.expire_all()
    entry = session.scalar(select(OutboxEntry).where(OutboxEntry.kind == digest.KIND))
    assert entry is not None
    return entry


@pytest.fixture
def two_zones(db_session: Session, make_user) -> tuple[User, User]:  # type: ignore[no-untyped-def]
    return make_user("ana@acme-sales.com", "Europe/Berlin"), make_user("bo@acme-sales.com",
                                                                       "America/New_York")


def test_each_users_hour_across_dst(db_session: Session, settings: Settings,
                                    two_zones: tuple[User, User]) -> None:
    berlin, new_york = two_zones
    moments = [
        datetime(2024, 3, 8, 7, 0, tzinfo=UTC),  # Berlin 08:00 CET (Friday)
        datetime(2024, 3, 8, 13, 0, tzinfo=UTC),  # New York 08:00 EST
        datetime(2024, 3, 8, 13, 30, tzinfo=UTC),  # again within the hour: nothing new
        datetime(2024, 3, 9, 13, 0, tzinfo=UTC),  # Saturday: nobody
        datetime(2024, 3, 11, 11, 59, tzinfo=UTC),  # New York 07:59 EDT (clocks moved)
        datetime(2024, 3, 11, 12, 0, tzinfo=UTC),  # New York 08:00 EDT
        datetime(2024, 4, 1, 5, 59, tzinfo=UTC),  # Berlin 07:59 CEST (clocks moved)
        datetime(2024, 4, 1, 6, 0, tzinfo=UTC),  # Berlin 08:00 CEST
    ]
    recorded = [digest.record_due(db_session, settings, now) for now in moments]
    assert recorded == [1, 1, 0, 0, 0, 1, 0, 1]
    assert keys(db_session) == [f"digest:{berlin.id}:2024-03-08",
                                f"digest:{new_york.id}:2024-03-08",
                                f"digest:{new_york.id}:2024-03-11",
                                f"digest:{berlin.id}:2024-04-01"]


def test_no_digest_when_off_refused_or_without_smtp(db_session: Session,
                                                    settings: Settings, user: User) -> None:
    row = db_session.get(User, user.id)
    assert row is not None
    row.digest = False
    db_session.commit()
    assert digest.record_due(db_session, settings, BERLIN_EIGHT_CET) == 0
    row.digest, row.email_refused_at = True, BERLIN_EIGHT_CET
    db_session.commit()
    assert digest.record_due(db_session, settings, BERLIN_EIGHT_CET) == 0
    row.email_refused_at, row.digest_hour = None, 9
    db_session.commit()
    assert digest.record_due(db_session, settings, BERLIN_EIGHT_CET) == 0  # not 9 yet
    no_smtp = Settings.from_env({}, database_url=settings.database_url, secret_key="x",
                                instance_path=settings.instance_path, testing=True)
    assert digest.record_due(db_session, no_smtp,
                             datetime(2024, 3, 29, 8, 0, tzinfo=UTC)) == 0
    assert digest.record_due(db_session, settings,
                             datetime(2024, 3, 29, 8, 0, tzinfo=UTC)) == 1


def test_the_digest_arrives_once_with_reason_links(db_session: Session,
                                                   settings: Settings, user: User,
                                                   mailbox: Mailbox) -> None:
    week: Week = make_week(db_session, user.id)
    assert digest.record_due(db_session, settings, BERLIN_EIGHT_CET) == 1
    entry = entry_of(db_session)  # the queue is immediate: done as the tick committed
    assert entry.status == "done", entry.last_error
    assert process(settings, entry.id, datetime.now(UTC)) is None  # done: never again
    assert digest.record_due(db_session, settings, BERLIN_EIGHT_CET) == 0
    message, = mailbox.messages
    assert message["To"] == user.email
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == f"<calsync.digest.{user.id}.2024-03-29@calsync.example>"
    assert message["Subject"].startswith("Your day: ")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Friday 29 March" in text
    assert "Call about the trial (Acme)" in text and "Call about the trial" in html
    assert "Beta: 7 touches" in text
    urls = re.findall(r"Waiting on them: (\S+)", text)
    assert len(urls) == 2  # both of the week's planned follow-ups are missed by now
    link = links.read(settings, urls[0].rsplit("/", 1)[1])
    assert (link.purpose, link.user_id, link.followup_id, link.reason) == (
        LinkPurpose.MISSED, user.id, week.missed.id, "waiting")
    assert urls[0] in html


def test_a_refused_address_is_kept_on_the_user(db_session: Session,
                                               settings: Settings, user: User,
                                               mailbox: Mailbox) -> None:
    mailbox.refuse_recipient = True
    digest.record_due(db_session, settings, BERLIN_EIGHT_CET)
    failed = entry_of(db_session)
    assert failed.status == "failed" and "User unknown" in (failed.last_error or "")
    db_session.expire_all()
    row = db_session.get(User, user.id)
    assert row is not None and row.email_refused_at is not None
    assert mailbox.messages == []


def test_the_message_for_a_quiet_day(db_session: Session, settings: Settings,
                                     user: User) -> None:
    row = db_session.get(User, user.id)
    assert row is not None
    message = digest.digest_message(db_session, settings, row, date(2024, 3, 29),
                                    BERLIN_EIGHT_CET)
    assert message["Subject"] == "Your day: nothing due, nothing missed"
    assert "0 on time, 0 late, 0 missed" in message.get_body(("plain",)).get_content()


def test_the_digest_says_promises_and_going_cold(db_session: Session, settings: Settings,
                                                 user: User) -> None:
    """Issue 11 in the email as on /coach: a promise's kind and deadline where it is due or
    missed, the promises kept, and a cold deal under "Going cold" (it left "No next touch
    planned", so it must be named here)."""
    week = make_week(db_session, user.id)
    week.today.kind, week.today.promise_due = FollowUpKind.PROMISE, local(14, 17)
    kept = add_followup(db_session, week.acme, "Send the contract draft", local(12, 10))
    kept.kind, kept.status = FollowUpKind.PROMISE, FollowUpStatus.DONE
    kept.promise_due, kept.delivered_at = local(15, 16), local(12, 11)  # a day early or more
    week.missed.kind = FollowUpKind.CHECK_IN
    gamma = add_deal(db_session, user.id, "Gamma")  # one touch last week, nothing planned
    add_prompt(db_session, gamma, local(4, 12), answered_at=local(4, 13))
    db_session.commit()
    row = db_session.get(User, user.id)
    assert row is not None
    message = digest.digest_message(db_session, settings, row, date(2024, 3, 13), NOW)
    text, html = digest.text_of(message), message.get_body(("html",)).get_content()

    assert ("Wed 13 Mar, 15:00\u201315:30 CET: Demo for finance (Acme) \u00b7 Promise \u00b7 "
            "promised for Thu 14 Mar 17:00\n") in text
    assert "Promise &middot; promised for Thu 14 Mar 17:00" in html.replace("\u00b7", "&middot;")
    assert "Call about the trial (Acme)\nSatisfaction check-in\n" in text
    assert "Promises kept: 1 early, 0 on time, 0 late" in text
    assert "Promises kept: 1 early" in html
    # Gamma: its gap after one touch is over with nothing planned: cold, and named once.
    cold_part = text.split("GOING COLD", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"- Gamma: cold since (Tue|Wed) [56] Mar", cold_part), text
    assert "Gamma" not in text.split("GOING COLD", 1)[0] + text.split("GOING COLD", 1)[1][
        len(cold_part):]
    assert "Going cold</h2>" in html and "Gamma: cold since" in html
    assert message["Subject"].endswith("1 going cold")

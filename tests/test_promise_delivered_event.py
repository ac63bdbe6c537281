"""A delivered promise stops looking like work to do: its calendar event (written back
through followup_changed) and its feed entry say delivered, when and how it was kept; a
promise still to deliver asks "Delivered?" before its link."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from calsync.domain.promises import answer_ask, event_lines, event_prefix
from calsync.domain.vocabulary import FollowUpKind
from calsync.feed import cache
from calsync.feed.render import FeedEvent, render_feed
from calsync.jobs import writeback
from calsync.models import Source, WebhookDelivery
from calsync.providers import caldav_ical, google_events, microsoft_events
from calsync.services import answers, webhooks
from tests.test_answers import me, prompts  # noqa: F401  (the fixture)
from tests.test_promises import _weekday_ahead, promise
from tests.test_sync import NOW

BERLIN = ZoneInfo("Europe/Berlin")
DUE = datetime(2026, 12, 4, 15, tzinfo=UTC)  # Fri 4 Dec 16:00 in Berlin


def test_the_event_text_of_a_delivered_promise() -> None:
    delivered = datetime(2026, 12, 2, 9, 15, tzinfo=UTC)
    lines = event_lines(FollowUpKind.PROMISE, DUE, "", BERLIN, delivered)
    assert ("Delivered early, Wed 2 Dec 10:15 (promised for Fri 4 Dec 16:00): nothing left "
            "to do here.") in lines
    assert not any(line.startswith("Promised for") for line in lines)
    assert event_prefix(FollowUpKind.PROMISE, delivered=True) == "Delivered · "
    assert event_prefix(FollowUpKind.PROMISE) == "Promise · "
    assert event_prefix(FollowUpKind.FOLLOW_UP) == ""
    assert answer_ask(FollowUpKind.PROMISE) == "Delivered?"
    assert answer_ask(FollowUpKind.PROMISE, delivered=True) == "How did it go?"
    assert answer_ask(FollowUpKind.CHECK_IN) == "How did it go?"


def feed(event: FeedEvent) -> str:
    """The feed of one event, its folded lines joined."""
    return render_feed([event], calendar_name="x", tz=BERLIN).decode().replace("\r\n ", "")


def test_the_feed_entry_of_a_promise_before_and_after_delivery() -> None:
    base = {"uid": "u1@calsync", "summary": "Send pricing", "start": DUE - timedelta(days=1),
            "end": DUE - timedelta(days=1, minutes=-30), "channel": "email", "note": "",
            "status": "planned", "sequence": 0, "changed_at": DUE - timedelta(days=3),
            "cancelled_at": None, "deal_name": "Acme", "deal_url": "https://x/deals/1",
            "answer_url": "https://x/a/t", "kind": FollowUpKind.PROMISE, "promise_due": DUE}
    now = DUE - timedelta(days=2)
    before = feed(FeedEvent(**base))
    assert "SUMMARY:Promise · Email: Acme — Send pricing" in before
    assert "Delivered? https://x/a/t" in before and "How did it go?" not in before
    base.update(status="done", sequence=1, delivered_at=now)
    after = feed(FeedEvent(**base))
    assert "SUMMARY:Delivered · Email: Acme — Send pricing" in after
    assert "Delivered early\\, Wed 2 Dec 16:00 (promised for Fri 4 Dec 16:00)" in after
    assert "Promised for" not in after


def test_delivering_writes_the_event_again_saying_so(db_session, settings, user,
                                                     prompts) -> None:  # noqa: F811
    due = _weekday_ahead(7, 16)
    followup = promise(db_session, settings, user, prompts[0], due)
    event = writeback.outgoing_event(db_session, settings, followup, Source(options={}))
    assert event.description.splitlines()[-1].startswith("Delivered? ")
    assert "Channel: Email" in event.description.splitlines()  # as the feed labels it
    assert event.reminder_minutes == settings.reminder_minutes
    sequence = followup.sequence
    webhooks.create(db_session, settings, me(db_session, user), "http://127.0.0.1:9/hook",
                    ["followup.updated"])
    answers.deliver(db_session, settings, me(db_session, user), followup,
                    now=NOW + timedelta(minutes=1))
    assert followup.sequence == sequence + 1  # handed to the write-back as a change
    # Through followup_changed, as every change: the calendars and the CRMs hear of it.
    [updated] = db_session.scalars(select(WebhookDelivery.body))
    assert json.loads(updated)["data"]["followup"]["delivered_at"] is not None
    event = writeback.outgoing_event(db_session, settings, followup, Source(options={}))
    assert event.summary.startswith("Delivered · Email: ")
    assert any(line.startswith("Delivered early, ") for line in event.description.splitlines())
    assert event.description.splitlines()[-1].startswith("How did it go? ")
    assert event.reminder_minutes is None  # nothing left to be reminded of
    # Each calendar's event as written, and the user's own feed, say the same.
    assert "BEGIN:VALARM" not in caldav_ical.event_object(event).decode()
    assert google_events.event_body(event)["reminders"] == {"useDefault": False,
                                                             "overrides": []}
    assert microsoft_events.event_body(event)["isReminderOn"] is False
    db_session.commit()
    state = cache.current_feed(db_session, settings, me(db_session, user))
    shown = state.body.decode().replace("\r\n ", "")
    assert "SUMMARY:Delivered · Email: " in shown and "Delivered early" in shown

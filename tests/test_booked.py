"""A meeting booked with a deal's counterpart before its planned follow-up covers it: read by
a sync (a writable calendar, or an ICS feed), the follow-up is cancelled as booked, its event
deleted from the calendar exactly once, and undo plans it again without the same meeting
covering it a second time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.domain.meeting import Attendee, MeetingData
from calsync.errors import ValidationFailed
from calsync.jobs import sync
from calsync.models import FollowUp, Meeting, OutboxEntry, Source, User
from calsync.services import booked, coach
from calsync.services import prompts as inbox
from tests.plugins import memory
from tests.test_sync import BUYER, NOW, meeting
from tests.test_writeback import plan, source  # noqa: F401  (the writable calendar fixture)
from tests.web.conftest import post

OTHER = (Attendee("someone@fabrikam.example", "Someone", "accepted"),)


def booked_meeting(uid: str = "booked", days: float = 2, status: str = "confirmed",
                   attendees: tuple[Attendee, ...] = BUYER) -> MeetingData:
    return meeting(uid, hours_ago=-24 * days, title="Pricing review", status=status,
                   attendees=attendees)


def resync(session: Session, settings, source_id: int) -> None:  # type: ignore[no-untyped-def]
    sync.sync_source(session, settings, source_id, now=datetime.now(UTC))
    session.expire_all()


def deletes(session: Session, followup_id: int) -> int:
    return len(list(session.scalars(select(OutboxEntry).where(
        OutboxEntry.followup_id == followup_id))))


def test_a_booked_meeting_covers_the_follow_up_and_deletes_its_event_once(
        db_session, settings, user, source) -> None:  # noqa: F811
    followup = plan(db_session, settings, user)  # in 3 days
    writes = deletes(db_session, followup.id)
    assert len(memory.WRITTEN[source.id]) == 1
    memory.CALENDARS[source.id] = [meeting("demo"), booked_meeting()]
    resync(db_session, settings, source.id)

    followup = db_session.get(FollowUp, followup.id)
    meeting_row = db_session.scalar(select(Meeting).where(Meeting.uid == "booked"))
    assert (followup.status, followup.cancel_reason) == ("cancelled", "booked")
    assert followup.booked_meeting_id == meeting_row.id
    assert memory.WRITTEN[source.id] == {}  # the event is gone from the calendar
    assert deletes(db_session, followup.id) == writes + 1

    resync(db_session, settings, source.id)  # nothing new: nothing more to delete
    assert deletes(db_session, followup.id) == writes + 1

    [notice] = booked.booked_notices(db_session, db_session.get(User, user.id))
    assert (notice.deal.name, notice.meeting.title, notice.followup.summary) == (
        "Prospect", "Pricing review", "Send pricing")
    # The booked meeting ahead is the deal's next touch: not "no next touch planned".
    account = db_session.get(User, user.id)
    assert followup.deal_id not in inbox.deals_without_next_touch(db_session, account)
    assert followup.deal_id in inbox.deals_without_next_touch(
        db_session, account, now=meeting_row.end + timedelta(minutes=1))  # once it is past
    said = coach.coaching_for(db_session, settings, account)
    assert followup.deal_id not in [deal.id for deal in said.unplanned_deals]

    # Undo: planned and written again; the same meeting doesn't cover it on the next sync.
    booked.unbook(db_session, db_session.get(User, user.id), followup.id)
    db_session.expire_all()
    assert db_session.get(FollowUp, followup.id).status == "planned"
    assert len(memory.WRITTEN[source.id]) == 1
    resync(db_session, settings, source.id)
    assert db_session.get(FollowUp, followup.id).status == "planned"
    assert booked.booked_notices(db_session, db_session.get(User, user.id)) == []


def test_meetings_that_cover_nothing(db_session, settings, user, source) -> None:  # noqa: F811
    followup = plan(db_session, settings, user)  # in 3 days
    memory.CALENDARS[source.id] = [
        meeting("demo"), booked_meeting("later", days=4),  # after it
        booked_meeting("else", attendees=OTHER),  # with someone else
        booked_meeting("off", status="cancelled"),
        meeting("lunch", hours_ago=-24, title="Lunch"),  # a skip keyword: not a sales meeting
    ]
    resync(db_session, settings, source.id)
    assert db_session.get(FollowUp, followup.id).status == "planned"
    assert len(memory.WRITTEN[source.id]) == 1


def test_unbook_refuses_a_follow_up_not_covered(db_session, settings, user,
                                                source) -> None:  # noqa: F811
    followup = plan(db_session, settings, user)
    with pytest.raises(ValidationFailed):
        booked.unbook(db_session, db_session.get(User, user.id), followup.id)


ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:pricing-review@contoso\r
DTSTAMP:20260101T000000Z\r
DTSTART:{start}\r
DTEND:{end}\r
SUMMARY:Pricing review\r
ATTENDEE;CN=Buyer;PARTSTAT=ACCEPTED:mailto:buyer@prospect.example\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_a_meeting_booked_in_an_ics_feed_covers_it_too(db_session, settings, user, source,  # noqa: F811
                                                       http_files) -> None:
    followup = plan(db_session, settings, user)  # written to the writable calendar
    start = NOW + timedelta(days=1)
    stamp = "%Y%m%dT%H%M%SZ"
    end = start + timedelta(hours=1)
    url = http_files.serve("/work.ics", ICS.format(start=start.strftime(stamp),
                                                   end=end.strftime(stamp)))
    feed = Source(user_id=user.id, kind="ics", name="work feed", url=url, options={},
                  cursor={}, warnings=[], next_sync_at=NOW)
    db_session.add(feed)
    db_session.commit()
    report = sync.sync_source(db_session, settings, feed.id, now=datetime.now(UTC))
    assert report.result == "ok", report.error
    db_session.expire_all()
    followup = db_session.get(FollowUp, followup.id)
    assert (followup.status, followup.cancel_reason) == ("cancelled", "booked")
    assert memory.WRITTEN[source.id] == {}  # deleted from the calendar it was written to


def test_the_inbox_names_it_and_undo_plans_it_again(db_session, settings, user, source,  # noqa: F811
                                                    logged_in, api) -> None:
    followup = plan(db_session, settings, user)
    memory.CALENDARS[source.id] = [meeting("demo"), booked_meeting()]
    resync(db_session, settings, source.id)

    shown = api.get(f"/api/v1/followups/{followup.id}").get_json()
    assert (shown["status"], shown["cancel_reason"]) == ("cancelled", "booked")
    assert shown["booked_meeting_id"] is not None
    inbox = logged_in.get("/").get_data(as_text=True)
    notice = inbox.split('id="booked"')[1].split("</section>")[0]
    assert "Prospect</a> booked “Pricing review” on" in notice
    assert "your follow-up “Send pricing” is covered" in notice

    response = post(logged_in, f"/followups/{followup.id}/unbook")
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(FollowUp, followup.id).status == "planned"
    assert 'id="booked"' not in logged_in.get("/").get_data(as_text=True)
    # Undoing what isn't covered is refused, in the API and on the page.
    refused = api.post(f"/api/v1/followups/{followup.id}/unbook")
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "followup"
    post(logged_in, f"/followups/{followup.id}/unbook")
    assert "wasn" in logged_in.get("/").get_data(as_text=True)


def test_the_api_undoes_it(db_session, settings, user, source, api) -> None:  # noqa: F811
    followup = plan(db_session, settings, user)
    memory.CALENDARS[source.id] = [meeting("demo"), booked_meeting()]
    resync(db_session, settings, source.id)
    undone = api.post(f"/api/v1/followups/{followup.id}/unbook")
    assert undone.status_code == 200
    assert (undone.get_json()["status"], undone.get_json()["cancel_reason"]) == ("planned", None)
    assert len(memory.WRITTEN[source.id]) == 1  # written back to the calendar


def test_a_cancelled_booked_meeting_plans_its_follow_up_again(db_session, settings, user,
                                                              source, logged_in) -> None:  # noqa: F811
    followup = plan(db_session, settings, user)
    memory.CALENDARS[source.id] = [meeting("demo"), booked_meeting()]
    resync(db_session, settings, source.id)
    assert memory.WRITTEN[source.id] == {}
    memory.CALENDARS[source.id] = [meeting("demo"), booked_meeting(status="cancelled")]
    resync(db_session, settings, source.id)
    again = db_session.get(FollowUp, followup.id)
    assert (again.status, again.cancel_reason, again.start) == ("planned", None, followup.start)
    assert len(memory.WRITTEN[source.id]) == 1  # back on the calendar
    notice = logged_in.get("/").get_data(as_text=True).split('id="booked"')[1]
    assert "“Pricing review” on" in notice and "was cancelled" in notice
    assert "“Send pricing” is planned again for" in notice
    assert "Undo" not in notice.split("</li>")[0]
    resync(db_session, settings, source.id)  # nothing new: planned once, written once
    assert db_session.get(FollowUp, followup.id).sequence == again.sequence


def test_a_cancelled_booked_meeting_leaves_a_deal_that_planned_another_touch(
        db_session, settings, user, source, logged_in) -> None:  # noqa: F811
    followup = plan(db_session, settings, user)
    memory.CALENDARS[source.id] = [meeting("demo"), booked_meeting()]
    resync(db_session, settings, source.id)
    other = FollowUp(user_id=user.id, deal_id=followup.deal_id, uid="other@calsync",
                     summary="Call them", start=NOW + timedelta(days=5),
                     end=NOW + timedelta(days=5, minutes=30), channel="call")
    db_session.add(other)
    db_session.commit()
    memory.CALENDARS[source.id] = [meeting("demo"), booked_meeting(status="cancelled")]
    resync(db_session, settings, source.id)
    assert db_session.get(FollowUp, followup.id).status == "cancelled"
    notice = logged_in.get("/").get_data(as_text=True).split('id="booked"')[1]
    assert "“Send pricing” it covered isn't planned any more" in notice
    post(logged_in, f"/followups/{followup.id}/unbook")  # plan it again by hand
    db_session.expire_all()
    assert db_session.get(FollowUp, followup.id).status == "planned"



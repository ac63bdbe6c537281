"""Cold deals as the deals list, a deal's page, the API and the coach read them, with a fixed
clock: a follow-up passed unanswered for 2 working days, or nothing planned for the cadence's
gap since the last touch; never with a touch planned ahead, never once closed. The list reads
it from what it already loads: no query per deal."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.orm import Session

from calsync.domain.vocabulary import CancelReason, Channel, DealStatus, FollowUpStatus
from calsync.models import FollowUp, Meeting, User
from calsync.services import deals
from tests.test_deals_list import NOW, Spec, account, make_deals  # noqa: F401  (fixture)

BERLIN = ZoneInfo("Europe/Berlin")  # the test user's zone

SPECS = (
    Spec("Alpha", touches=(20, 9), next_in=-7),  # its follow-up passed a week ago, no answer
    Spec("Bravo", touches=(3,), next_in=5),  # planned ahead: warm
    Spec("Delta", touches=(40,)),  # open, nothing planned for 40 days: gap after 1 is 2 days
    Spec("Echo", touches=(50, 45), status=DealStatus.WON),  # closed: never cold
    Spec("Golf"),  # never touched: nothing to go cold from
    Spec("Hotel", touches=(1,)),  # touched yesterday; the gap is 2 days
)


def cold_at(session: Session, user: User, now: datetime) -> dict[str, datetime | None]:
    found = deals.list_deals(session, user, limit=50, now=now)
    return {s.deal.name: s.cold_since for s in found.items}


def test_which_deals_are_cold_at_a_fixed_clock(db_session, account) -> None:  # noqa: F811
    make_deals(db_session, account, *SPECS)
    cold = cold_at(db_session, account, NOW)
    assert {name for name, since in cold.items() if since} == {"Alpha", "Delta"}
    # The gap ends 38 days ago, or at that wall time on the working day after a weekend.
    assert timedelta(0) <= cold["Delta"] - (NOW - timedelta(days=38)) < timedelta(days=3)
    assert cold["Delta"].astimezone(BERLIN).weekday() < 5
    # Two working days after Alpha's follow-up ended: at least two days, at most four
    # (a weekend between).
    ended = NOW - timedelta(days=7) + timedelta(minutes=30)
    assert timedelta(days=2) <= cold["Alpha"] - ended <= timedelta(days=4)
    assert cold["Alpha"].astimezone(BERLIN).weekday() < 5

    # Four days later Hotel's gap is over too (on a working day); Bravo stays warm until its
    # touch passes.
    later = cold_at(db_session, account, NOW + timedelta(days=4))
    assert later["Hotel"] is not None and later["Hotel"].astimezone(BERLIN).weekday() < 5
    assert later["Bravo"] is None and later["Echo"] is None and later["Golf"] is None


def test_the_list_reads_coldness_without_a_query_per_deal(db_session, account) -> None:  # noqa: F811
    make_deals(db_session, account, *SPECS)
    statements: list[str] = []
    engine = db_session.get_bind()
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        deals.list_deals(db_session, account, limit=50, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(statements) <= 2


def test_the_coach_lists_cold_deals_longest_cold_first(db_session, settings,
                                                       account) -> None:  # noqa: F811
    make_deals(db_session, account, *SPECS)
    cold = deals.cold_deals(db_session, settings, account, now=NOW)
    assert [s.deal.name for s in cold] == ["Delta", "Alpha"]


def test_the_api_and_the_pages_say_cold(api, logged_in, db_session, user) -> None:
    ids = make_deals(db_session, db_session.get(User, user.id), *SPECS)
    listed = {d["name"]: d for d in api.get("/api/v1/deals?limit=50").get_json()["items"]}
    assert listed["Delta"]["cold"] is True and listed["Delta"]["cold_since"]
    assert listed["Bravo"]["cold"] is False and listed["Bravo"]["cold_since"] is None
    assert api.get(f"/api/v1/deals/{ids['Delta']}").get_json()["cold"] is True

    page = logged_in.get("/deals").get_data(as_text=True)
    delta = page.split(f'id="deal-{ids["Delta"]}"')[1].split("</tr>")[0]
    bravo = page.split(f'id="deal-{ids["Bravo"]}"')[1].split("</tr>")[0]
    assert "cold since" in delta and "cold since" not in bravo
    assert "cold since" in logged_in.get(f"/deals/{ids['Delta']}").get_data(as_text=True)
    going = logged_in.get("/deals?cold=1").get_data(as_text=True)
    assert re.findall(r'id="deal-(\d+)"', going) == [str(ids["Delta"]), str(ids["Alpha"])]
    coach = logged_in.get("/coach").get_data(as_text=True)
    assert 'id="cold-deals"' in coach and "Delta" in coach.split('id="cold-deals"')[1]


def test_a_booked_meeting_ahead_is_the_next_touch(db_session, account) -> None:  # noqa: F811
    ids = make_deals(db_session, account, Spec("Contoso", touches=(30,)))
    start = NOW + timedelta(days=2)
    booked = Meeting(user_id=account.id, uid="pricing-review", title="Pricing review",
                     start=start, end=start + timedelta(hours=1))
    db_session.add(booked)
    db_session.flush()
    db_session.add(FollowUp(user_id=account.id, deal_id=ids["Contoso"], uid="fu@calsync",
                            summary="Send pricing", start=start + timedelta(days=1),
                            end=start + timedelta(days=1, minutes=30), channel=Channel.EMAIL,
                            status=FollowUpStatus.CANCELLED, cancelled_at=NOW,
                            cancel_reason=CancelReason.BOOKED, booked_meeting_id=booked.id))
    db_session.commit()
    [summary] = deals.list_deals(db_session, account, limit=5, now=NOW).items
    assert summary.cold_since is None and not summary.needs_next_touch
    # Once it is over with nothing planned after it, the cadence's gap counts again.
    [later] = deals.list_deals(db_session, account, limit=5, now=start + timedelta(days=1)).items
    assert later.cold_since is not None and later.needs_next_touch


def test_the_going_cold_tab_says_when_none_is(logged_in) -> None:
    assert "No deal is going cold" in logged_in.get("/deals?cold=1").get_data(as_text=True)

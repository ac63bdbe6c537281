"""What the deals page shows, through the API: `GET /api/v1/deals?cold=true` lists the Going
cold tab's deals, longest cold first, in pages; a meeting they booked that is the deal's next
touch is `next_booked` {meeting_id, title, start, end} in the list and on the deal."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from calsync.domain.vocabulary import CancelReason, Channel, FollowUpStatus
from calsync.models import FollowUp, Meeting, User
from tests.test_cold import SPECS
from tests.test_deals_list import NOW, Spec, make_deals


def test_cold_true_lists_the_going_cold_tab(api, db_session: Session, user: User) -> None:  # type: ignore[no-untyped-def]
    ids = make_deals(db_session, db_session.get(User, user.id), *SPECS,
                     Spec("India", touches=(30,)))
    first = api.get("/api/v1/deals?cold=true&limit=2").get_json()
    assert [d["name"] for d in first["items"]] == ["Delta", "India"]  # longest cold first
    assert all(d["cold"] and d["cold_since"] for d in first["items"])
    rest = api.get(f"/api/v1/deals?cold=true&limit=2&cursor={first['next_cursor']}").get_json()
    assert [d["name"] for d in rest["items"]] == ["Alpha"] and rest["next_cursor"] is None
    assert ids["Alpha"] == rest["items"][0]["id"]
    # Without it, every deal as before.
    assert len(api.get("/api/v1/deals?limit=50").get_json()["items"]) == len(SPECS) + 1
    # A won deal never goes cold; a search is not offered with it; a foreign cursor is refused.
    assert api.get("/api/v1/deals?cold=true&status=won").status_code == 422
    refused = api.get("/api/v1/deals?cold=true&q=alpha")
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "q"
    other = api.get("/api/v1/deals?limit=1").get_json()["next_cursor"]
    assert api.get(f"/api/v1/deals?cold=true&cursor={other}").status_code == 422


def _book(session: Session, user: User, deal_id: int, start: datetime) -> Meeting:
    """A meeting they booked that covered the deal's follow-up planned after it."""
    booked = Meeting(user_id=user.id, uid="pricing-review", title="Pricing review",
                     start=start, end=start + timedelta(hours=1))
    session.add(booked)
    session.flush()
    session.add(FollowUp(user_id=user.id, deal_id=deal_id, uid="fu@calsync",
                         summary="Send pricing", start=start + timedelta(days=1),
                         end=start + timedelta(days=1, minutes=30), channel=Channel.EMAIL,
                         status=FollowUpStatus.CANCELLED, cancelled_at=NOW,
                         cancel_reason=CancelReason.BOOKED, booked_meeting_id=booked.id))
    session.commit()
    return booked


def test_a_booked_meeting_is_next_booked(api, db_session: Session, user: User) -> None:  # type: ignore[no-untyped-def]
    owner = db_session.get(User, user.id)
    ids = make_deals(db_session, owner, Spec("Contoso", touches=(30,)), Spec("Bravo",
                                                                              touches=(3,)))
    booked = _book(db_session, owner, ids["Contoso"], NOW + timedelta(days=2))
    listed = {d["name"]: d for d in api.get("/api/v1/deals").get_json()["items"]}
    contoso = listed["Contoso"]
    assert contoso["next_booked"]["title"] == "Pricing review"
    assert contoso["next_booked"]["meeting_id"] == booked.id
    assert datetime.fromisoformat(contoso["next_booked"]["start"]) == booked.start
    assert contoso["next_followup"] is None
    assert contoso["needs_next_touch"] is False and contoso["cold"] is False
    assert listed["Bravo"]["next_booked"] is None
    detail = api.get(f"/api/v1/deals/{ids['Contoso']}").get_json()
    assert detail["next_booked"] == contoso["next_booked"]
    assert "Contoso" not in [d["name"] for d in
                             api.get("/api/v1/deals?cold=true").get_json()["items"]]

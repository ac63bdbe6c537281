"""The coach's page and API on a known week: what they list, reasons and moves by form and JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from calsync.domain.vocabulary import FollowUpStatus, MissedReason
from calsync.models import FollowUp, User
from tests.coach.history import Week, make_week
from tests.conftest import ApiClient, api_client_for, csrf_from


@pytest.fixture
def week(db_session: Session, user: User) -> Week:
    return make_week(db_session, user.id)


def test_api_coach_lists_the_week(api: ApiClient, week: Week) -> None:
    body = api.get("/api/v1/coach").get_json()
    # Today is not 13 March 2024 any more: everything planned then is missed by now.
    assert [f["id"] for f in body["missed"]] == [week.missed.id, week.today.id]
    assert body["missed"][0] == {
        "id": week.missed.id, "deal_id": week.acme.id, "deal_name": "Acme",
        "summary": "Call about the trial", "start": "2024-03-11T09:00:00+00:00",
        "end": "2024-03-11T09:30:00+00:00", "missed_reason": None, "missed_note": "",
        "kind": "follow_up", "promise_due": None}
    assert body["due_today"] == []
    assert [p["title"] for p in body["prompts_waiting"]] == ["Call about the trial"]
    assert [(d["name"], d["touches"]) for d in body["deals_to_close"]] == [("Beta", 7)]
    # Nothing planned for Beta since March: gone cold, so named there only (and only there).
    assert [d["name"] for d in body["unplanned_deals"]] == []
    # Acme's follow-up passed in March without an answer: cold first, longest cold first.
    assert body["cold"] == [
        {"id": week.acme.id, "name": "Acme", "cold_since": "2024-03-15T14:30:00+00:00"},
        {"id": week.beta.id, "name": "Beta", "cold_since": "2024-03-28T11:00:00+00:00"}]
    assert body["record"]["on_time"] == 0  # March is more than a week ago


def test_api_records_a_reason(api: ApiClient, db_session: Session, week: Week) -> None:
    answer = api.post(f"/api/v1/followups/{week.missed.id}/reason",
                      json={"reason": "other", "note": "Their CFO was away"})
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["missed_reason"], answer.get_json()["missed_note"]) == (
        "other", "Their CFO was away")
    db_session.expire_all()
    assert db_session.get(FollowUp, week.missed.id).missed_reason is MissedReason.OTHER


@pytest.mark.parametrize(("body", "field"), [
    ({"reason": "other"}, "note"),
    ({"reason": "busy"}, "reason"),
    ({"reason": "forgot", "extra": 1}, "extra"),
])
def test_api_refuses_a_bad_reason(api: ApiClient, week: Week, body: dict[str, object],
                                  field: str) -> None:
    answer = api.post(f"/api/v1/followups/{week.missed.id}/reason", json=body)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == field


def test_api_reason_for_someone_elses_follow_up_is_not_found(app, client, make_user,
                                                             week: Week) -> None:
    other = api_client_for(app, client, make_user("bo@other.com"))
    answer = other.post(f"/api/v1/followups/{week.missed.id}/reason", json={"reason": "forgot"})
    assert answer.status_code == 404


def test_api_reschedules(api: ApiClient, db_session: Session, week: Week) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    answer = api.post(f"/api/v1/followups/{week.missed.id}/reschedule",
                      json={"start": start.isoformat()})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["start"] == start.isoformat()
    assert answer.get_json()["status"] == "planned"
    past = api.post(f"/api/v1/followups/{week.today.id}/reschedule",
                    json={"start": "2024-01-01T10:00:00+00:00"})
    assert past.status_code == 422 and past.get_json()["error"]["field"] == "start"


def test_the_page_lists_and_records_a_reason(logged_in: FlaskClient, db_session: Session,
                                             week: Week) -> None:
    page = logged_in.get("/coach")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'aria-current="page">Coach' in html
    assert "Call about the trial" in html and "Beta" in html
    assert f'id="followup-{week.missed.id}"' in html
    answer = logged_in.post(f"/coach/followups/{week.missed.id}/reason",
                            data={"reason": "forgot", "csrf_token": csrf_from(html)})
    assert answer.status_code == 302
    after = logged_in.get("/coach").get_data(as_text=True)
    assert "noted, “Forgot”" in after
    db_session.expire_all()
    assert db_session.get(FollowUp, week.missed.id).missed_reason is MissedReason.FORGOT


def test_the_page_needs_its_csrf_token(logged_in: FlaskClient, db_session: Session,
                                       week: Week) -> None:
    answer = logged_in.post(f"/coach/followups/{week.missed.id}/reason",
                            data={"reason": "forgot"})
    assert answer.status_code == 400
    db_session.expire_all()
    assert db_session.get(FollowUp, week.missed.id).missed_reason is None


def test_the_page_moves_a_missed_follow_up(logged_in: FlaskClient, db_session: Session,
                                           week: Week) -> None:
    token = csrf_from(logged_in.get("/coach").get_data(as_text=True))
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    answer = logged_in.post(f"/coach/followups/{week.missed.id}/reschedule",
                            data={"date": day, "time": "10:00", "csrf_token": token})
    assert answer.status_code == 302
    assert "moved to" in logged_in.get("/coach").get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(FollowUp, week.missed.id).status is FollowUpStatus.CANCELLED
    refused = logged_in.post(f"/coach/followups/{week.today.id}/reschedule",
                             data={"date": "2020-01-01", "time": "10:00", "csrf_token": token})
    assert refused.status_code == 302
    assert "Choose a time in the future" in logged_in.get("/coach").get_data(as_text=True)

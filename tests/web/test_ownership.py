"""A user sees and changes only their own data: another user's ids answer 404 everywhere."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync import accounts
from calsync.db import get_db
from calsync.models import ApiToken, Deal, Prompt, Source, User
from tests.conftest import login
from tests.web.conftest import load, post, query


@pytest.fixture
def intruder(app: Flask, make_user, seeded: dict[str, int]) -> FlaskClient:  # type: ignore[no-untyped-def]
    """A second user, signed in on a client of their own, after the first one has data."""
    make_user("eve@rival.example", "UTC")
    client = app.test_client()
    login(client, "eve@rival.example")
    return client


def test_other_users_pages_are_not_found(app: Flask, user: User, logged_in: FlaskClient,
                                         seeded: dict[str, int],
                                         intruder: FlaskClient) -> None:
    post(logged_in, "/sources/sample")
    prompt_id = seeded["Contoso demo"]
    deal_id = load(app, Prompt, prompt_id).deal_id
    source_id = query(app, select(Source.id))[0]
    for path in (f"/prompts/{prompt_id}", f"/deals/{deal_id}", f"/sources/{source_id}"):
        response = intruder.get(path)
        assert response.status_code == 404, path
        assert "Contoso" not in response.get_data(as_text=True)
    assert "Contoso" not in intruder.get("/").get_data(as_text=True)
    assert "contoso" not in intruder.get("/deals").get_data(as_text=True)
    assert "Sample sales week" not in intruder.get("/sources").get_data(as_text=True)


def test_other_users_posts_are_not_found(app: Flask, user: User, logged_in: FlaskClient,
                                         seeded: dict[str, int],
                                         intruder: FlaskClient) -> None:
    post(logged_in, "/sources/sample")
    prompt_id = seeded["Contoso demo"]
    deal_id = load(app, Prompt, prompt_id).deal_id
    source_id = query(app, select(Source.id))[0]
    with app.app_context(), get_db().session() as session:
        _, _plain = accounts.create_api_token(session, session.get(User, user.id), "mine")
        session.commit()
    [token_id] = query(app, select(ApiToken.id))
    attempts = {
        f"/prompts/{prompt_id}/answer": {"outcome": "yes"},
        f"/prompts/{prompt_id}/snooze": {"until": "hour"},
        f"/prompts/{prompt_id}/dismiss": {"skip_series": "y"},
        f"/prompts/{prompt_id}/didnt-happen": {"action": "skip"},
        f"/prompts/{prompt_id}/move": {"new_deal": "Stolen"},
        f"/deals/{deal_id}/rename": {"name": "Stolen"},
        f"/sources/{source_id}/sync": {},
        f"/sources/{source_id}/delete": {},
        f"/settings/tokens/{token_id}/revoke": {},
    }
    for path, data in attempts.items():
        assert post(intruder, path, data).status_code == 404, path
    prompt = load(app, Prompt, prompt_id)
    assert (prompt.status, prompt.outcome) == ("pending", None)
    assert load(app, Deal, deal_id).name == "contoso.example"
    assert load(app, Source, source_id) is not None
    assert load(app, ApiToken, token_id).revoked_at is None
    assert [d.name for d in query(app, select(Deal))].count("Stolen") == 0


def test_moving_to_another_users_deal_is_refused(app: Flask, make_user,  # type: ignore[no-untyped-def]
                                                 logged_in: FlaskClient,
                                                 seeded: dict[str, int]) -> None:
    other = make_user("eve@rival.example", "UTC")
    with app.app_context(), get_db().session() as session:
        theirs = Deal(user_id=other.id, name="Eve's deal", key=None)
        session.add(theirs)
        session.commit()
        theirs_id = theirs.id
    prompt_id = seeded["Contoso demo"]
    before = load(app, Prompt, prompt_id).deal_id
    assert post(logged_in, f"/prompts/{prompt_id}/move",
                {"deal_id": str(theirs_id)}).status_code == 404
    assert load(app, Prompt, prompt_id).deal_id == before

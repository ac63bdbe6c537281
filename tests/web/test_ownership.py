"""A user sees and changes only their own data: another user's ids answer 404 everywhere."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.db import get_db
from calsync.models import ApiToken, Deal, Prompt, Source, User
from calsync.services import accounts
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
    assert load(app, Deal, deal_id).name == "Contoso"
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


def _settings_of(app: Flask, email: str, domain: str, token_name: str) -> FlaskClient:
    """A signed-in client of `email`, with an internal domain and an API token of its own."""
    client = app.test_client()
    login(client, email)
    assert post(client, "/settings/rules", {"internal_domains": domain,
                                            "skip_keywords": "lunch"}).status_code == 302
    # Issue 10: POST-redirect-GET, the token shown on the page after the redirect.
    assert post(client, "/settings/tokens", {"name": token_name},
                follow_redirects=True).status_code == 200
    return client


def test_settings_show_and_change_only_ones_own(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    ana, eve = make_user("ana@acme-sales.com"), make_user("eve@rival.example", "UTC")
    anas = _settings_of(app, ana.email, "acme-partner.example", "Ana CRM")
    eves = _settings_of(app, eve.email, "rival-partner.example", "Eve script")
    assert post(eves, "/settings/feed/rotate").status_code == 302
    with app.app_context(), get_db().session() as session:
        feeds = {u.email: u.feed_token for u in session.scalars(select(User))}
        prefixes = {t.user.email: t.prefix for t in session.scalars(select(ApiToken))}
    assert feeds[ana.email] == ana.feed_token  # Eve's rotation changed only her own feed
    assert feeds[eve.email] != eve.feed_token
    for client, own, other in ((anas, ana.email, eve.email), (eves, eve.email, ana.email)):
        page = client.get("/settings").get_data(as_text=True)
        own_words = {ana.email: ("acme-partner.example", "Ana CRM"),
                     eve.email: ("rival-partner.example", "Eve script")}
        for word in (*own_words[own], feeds[own], prefixes[own]):
            assert word in page, word
        for word in (*own_words[other], feeds[other], prefixes[other]):
            assert word not in page, word

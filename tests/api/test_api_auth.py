"""Every API call needs a live bearer token; without one the answer is a 401 in JSON."""

from __future__ import annotations

from calsync.db import get_db
from calsync.models import ApiToken, User
from calsync.services import accounts
from tests.api.conftest import error_of
from tests.conftest import ApiClient


def test_no_token_is_401_json_with_a_challenge(client) -> None:
    response = client.get("/api/v1/sources")
    assert error_of(response, 401)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_another_scheme_is_401(client, api) -> None:
    token = api.headers["Authorization"].split(" ", 1)[1]
    response = client.get("/api/v1/me", headers={"Authorization": f"Basic {token}"})
    error_of(response, 401)


def test_unknown_token_is_401(client, api) -> None:
    error_of(ApiClient(client, "cs_not-a-real-token").get("/api/v1/me"), 401)
    error_of(ApiClient(client, "").post("/api/v1/feed/rotate"), 401)


def test_revoked_token_is_401(app, client, user) -> None:
    with app.app_context(), get_db().session() as session:
        token, plaintext = accounts.create_api_token(session, session.get(User, user.id))
        session.commit()
        token_id = token.id
    api = ApiClient(client, plaintext)
    assert api.get("/api/v1/me").status_code == 200
    with app.app_context(), get_db().session() as session:
        accounts.revoke_api_token(session, session.get(User, user.id), token_id)
        session.commit()
    error_of(api.get("/api/v1/me"), 401)


def test_a_used_token_records_when(app, api, user) -> None:
    assert api.get("/api/v1/me").get_json() == {
        "id": user.id, "email": user.email, "timezone": user.timezone}
    with app.app_context(), get_db().session() as session:
        token = session.query(ApiToken).filter_by(user_id=user.id).one()
        assert token.last_used_at is not None


def test_writes_need_a_token_too(client, user) -> None:
    response = client.post("/api/v1/sources", json={"kind": "ics", "ics": "BEGIN:VCALENDAR"})
    error_of(response, 401)
    error_of(client.delete("/api/v1/sources/1"), 401)


def test_openapi_needs_no_token(client) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_unknown_api_paths_answer_json(api) -> None:
    assert error_of(api.get("/api/v1/nothing-here"), 404)["code"] == "not_found"
    assert error_of(api.client.put("/api/v1/me", headers=api.headers), 405)

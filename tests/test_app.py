"""The factory builds independent apps; settings reach Flask; health answers."""

from calsync.app import create_app
from calsync.config import Settings


def test_factory_uses_given_settings(settings: Settings) -> None:
    app = create_app(settings)
    assert app.config["SECRET_KEY"] == "test-secret"
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_https_base_url_makes_cookies_secure(settings: Settings) -> None:
    from dataclasses import replace

    app = create_app(replace(settings, base_url="https://calsync.example"))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["PREFERRED_URL_SCHEME"] == "https"


def test_healthz(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_checks_database_and_queue(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "database": "ok", "queue": "ok"}


def test_readyz_reports_an_unreachable_queue(settings) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    app = create_app(replace(settings, queue_immediate=False,
                             redis_url="redis://127.0.0.1:1/0"))  # nothing listens on port 1
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["queue"] == "unreachable"
    assert response.get_json()["database"] == "ok"


def test_every_response_carries_a_request_id(client) -> None:  # type: ignore[no-untyped-def]
    given = client.get("/healthz", headers={"X-Request-ID": "lb-1234"})
    assert given.headers["X-Request-ID"] == "lb-1234"
    made = client.get("/healthz", headers={"X-Request-ID": "<script>;" + "x" * 100})
    assert len(made.headers["X-Request-ID"]) == 32


def test_json_logs_carry_the_request_id(app, capsys) -> None:  # type: ignore[no-untyped-def]
    import json
    import logging

    from flask import g

    from calsync import logs
    handler = logging.StreamHandler()
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("calsync.test")
    logger.addHandler(handler)
    try:
        with app.test_request_context("/"):
            g.request_id = "req-42"
            logger.warning("sync done", extra={"source_id": 7, "added": 3})
    finally:
        logger.removeHandler(handler)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["request_id"] == "req-42" and line["source_id"] == 7
    assert line["message"] == "sync done" and line["level"] == "warning"


def test_out_of_range_numbers_and_dates_are_the_requests_fault(app, logged_in, api) -> None:  # type: ignore[no-untyped-def]
    huge = "99999999999999999999"
    assert logged_in.get(f"/deals?page={huge}").status_code == 422
    assert logged_in.get(f"/?page={huge}").status_code == 422
    response = api.get(f"/api/v1/meetings?source_id={huge}")
    assert response.status_code in (404, 422)
    assert response.get_json()["error"]["message"]
    assert api.get("/api/v1/meetings?from=0001-01-01T00:00:00").status_code == 422


def test_api_calls_record_token_use_at_most_once_a_minute(app, api) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from calsync.db import get_db
    from calsync.models import ApiToken

    def last_used():  # type: ignore[no-untyped-def]
        with app.app_context(), get_db().session() as session:
            return session.scalar(select(ApiToken.last_used_at))

    assert api.get("/api/v1/me").status_code == 200
    first = last_used()
    assert first is not None
    assert api.get("/api/v1/me").status_code == 200
    assert last_used() == first  # the second call within the minute wrote nothing


def test_an_unknown_address_says_so_in_plain_words(client, api) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "There&#39;s no page at this address." in page.get_data(as_text=True)
    assert "spelling" not in page.get_data(as_text=True)  # not Werkzeug's developer note
    error = api.get("/api/v1/no-such-thing").get_json()["error"]
    assert (error["code"], error["message"]) == ("not_found", "There's no page at this address.")
    # A description given on purpose is kept.
    assert api.get("/api/v1/prompts/999999").get_json()["error"]["message"] != error["message"]

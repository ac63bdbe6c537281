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

"""calsync's web side: pages, the JSON API, the feed and the error handlers, as blueprints.

`register_blueprints` is the one place that wires them and the extensions into an app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from calsync.config import Settings
from calsync.db import get_session
from calsync.services import accounts

if TYPE_CHECKING:
    from calsync.models import User

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to see that page."
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(login_token: str) -> User | None:
    # The cookies carry a login's token, not the user id: an ended login loads nobody.
    lifetime = accounts.login_lifetime(current_settings())
    return accounts.user_for_login(get_session(), login_token, lifetime)


def current_settings() -> Settings:
    settings: Settings = current_app.extensions["calsync.settings"]
    return settings


def register_blueprints(app: Flask) -> None:
    from calsync.web import api, auth, errors, feeds, google, health, icon, pages, webhooks
    from calsync.web.microsoft import bp as microsoft_bp

    csrf.init_app(app)
    login_manager.init_app(app)
    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(icon.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    # The API authenticates every call with a bearer token, not a cookie, so a forged
    # cross-site request carries nothing to ride on.
    csrf.exempt(api.bp)
    app.register_blueprint(google.bp)
    app.register_blueprint(microsoft_bp)
    app.register_blueprint(webhooks.bp)
    # Google cannot send a CSRF token (nor a cookie); each notification carries its
    # channel's secret token instead, which the webhook compares in constant time.
    csrf.exempt(webhooks.bp)

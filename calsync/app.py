"""The Flask app factory: `create_app(config)` wires settings, database, queue and blueprints.

Nothing happens at import time; tests build their own app with their own settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from calsync import db, logs
from calsync.config import Settings
from calsync.domain.vocabulary import VOCABULARIES
from calsync.jobs import queue
from calsync.web import feed_fast_path, headers, register_blueprints, throttle


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the app from `config`: a Settings, or overrides of the environment's settings."""
    settings = config if isinstance(config, Settings) else Settings.from_env(**dict(config or {}))
    # Templates and static files ship inside the package (calsync/templates and
    # calsync/static, links to the top-level web/ in a checkout), so a wheel serves pages.
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.config.update(_flask_config(settings))
    app.extensions["calsync.settings"] = settings
    # Templates compare states with members by name: p.status == PromptStatus.SNOOZED.
    app.jinja_env.globals.update({vocabulary.__name__: vocabulary for vocabulary in VOCABULARIES})
    db.init_app(app, settings)
    logs.init_app(app)
    queue.init_app(app, settings)
    register_blueprints(app)
    throttle.init_app(app, settings)
    headers.init_app(app, settings)
    feed_fast_path.init_app(app, settings)
    if settings.trusted_proxies > 0:
        # The client's address (rate limits count by it) as the nearest proxies saw it; with
        # none trusted a client could name any address in X-Forwarded-For and dodge limits.
        hops = settings.trusted_proxies
        # Wrapping wsgi_app is Flask's documented way to add middleware; mypy sees a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app


def _flask_config(settings: Settings) -> dict[str, Any]:
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    return {
        "SECRET_KEY": settings.load_secret_key(),
        "TESTING": settings.testing,
        "SESSION_COOKIE_HTTPONLY": True,
        # Lax keeps the session across the return from an OAuth provider, and still
        # stops other sites from posting with it.
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.is_https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": settings.is_https,
        # A login ends after this, the "remember me" cookie included (the login row
        # expires server-side at the same age).
        "PERMANENT_SESSION_LIFETIME": timedelta(days=settings.session_days),
        "REMEMBER_COOKIE_DURATION": timedelta(days=settings.session_days),
        "PREFERRED_URL_SCHEME": "https" if settings.is_https else "http",
        # An uploaded .ics may be as large as a fetched one, plus the form around it.
        "MAX_CONTENT_LENGTH": settings.fetch_max_bytes + 64 * 1024,
        # Tokens live as long as the session: a form left open over lunch still posts.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": settings.is_https,
    }


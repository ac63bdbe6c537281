"""Security headers on every response: a Content-Security-Policy with no inline script,
no sniffing, no framing, no referrer (feed URLs are secrets) and no caching of pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

from calsync.config import Settings


def content_security_policy(settings: Settings) -> str:
    """Scripts and styles only from our own static files, never inline."""
    # Chrome checks form-action on every redirect after a POST too: "Connect Google
    # Calendar" and "Sign in with Google" post here and are sent on to Google's auth host.
    auth = urlsplit(settings.google_auth_uri)
    google = f"{auth.scheme}://{auth.netloc}" if auth.scheme and auth.netloc else ""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        f"form-action 'self' {google}".strip(),
    ])


def init_app(app: Flask, settings: Settings) -> None:
    policy = content_security_policy(settings)

    @app.after_request
    def secure_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for older browsers
        # Pages hold private data (the settings page holds the feed URL and new API
        # tokens): nothing is kept in shared or browser caches unless the view says so.
        headers.setdefault("Cache-Control", "no-store")
        return response

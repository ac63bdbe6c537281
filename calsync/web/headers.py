"""Security headers on every response: a Content-Security-Policy with no inline script,
no sniffing, no framing, no referrer (feed URLs are secrets) and no caching of pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

from calsync.config import Settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def content_security_policy(settings: Settings) -> str:
    """Scripts and styles only from our own static files, never inline."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        " ".join(["form-action 'self'", *sign_in_origins(settings)]),
    ])


def sign_in_origins(settings: Settings) -> list[str]:
    """Where "Connect" and "Sign in with …" send the browser: Chrome checks form-action on
    every redirect after a POST too, so Google's and Microsoft's authorization hosts are
    named. Microsoft's emulator on loopback (demo mode) shows its consent page over plain
    http on a port of its own, so then any loopback port is."""
    origins = [_origin(settings.google_auth_uri), _origin(settings.microsoft_authority_host)]
    if urlsplit(settings.microsoft_authority_host).hostname in LOOPBACK:
        origins.append("http://127.0.0.1:*")
    return list(dict.fromkeys(origin for origin in origins if origin))


def _origin(address: str) -> str:
    parts = urlsplit(address)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


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

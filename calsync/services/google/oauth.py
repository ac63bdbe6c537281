"""Google's OAuth 2.0 web-server flow with PKCE: the authorization URL, the callback's code
exchange, the granted-scope check, the account's email, and revocation."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from google.auth import jwt
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy import delete
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.vocabulary import OAuthPurpose
from calsync.errors import OAuthFailed
from calsync.models import OAuthState

# The narrowest scopes that do the job: events on calendars the user owns (read them,
# write follow-ups) and the list of calendars to pick from. Nothing else of the account.
CALENDAR_SCOPES = (
    "https://www.googleapis.com/auth/calendar.events.owned",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
)
IDENTITY_SCOPES = ("openid", "https://www.googleapis.com/auth/userinfo.email")
STATE_TTL = timedelta(minutes=15)
CALLBACK_PATH = "/google/callback"


@dataclass(frozen=True)
class Grant:
    """What a finished flow gives: tokens to seal, scopes granted, and who signed in."""

    credentials: dict[str, Any]
    scopes: frozenset[str]
    email: str
    subject: str
    purpose: OAuthPurpose
    user_id: int | None
    email_verified: bool = False


def _client_config(settings: Settings) -> dict[str, Any]:
    return {"web": {
        "client_id": settings.google_client_id or "calsync-demo",
        "client_secret": settings.google_client_secret or "calsync-demo-secret",
        "auth_uri": settings.google_auth_uri,
        "token_uri": settings.google_token_uri,
        "redirect_uris": [redirect_uri(settings)],
    }}


def redirect_uri(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def scopes_for(purpose: OAuthPurpose) -> tuple[str, ...]:
    if purpose is OAuthPurpose.SIGNIN:
        return IDENTITY_SCOPES
    return (*CALENDAR_SCOPES, *IDENTITY_SCOPES)


def _flow(settings: Settings, purpose: OAuthPurpose, state: str | None = None,
          verifier: str | None = None) -> Flow:
    # Google may hand back more scopes than asked (earlier grants, openid's email alias):
    # oauthlib must not treat that as an error; we compare the sets ourselves.
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    if not settings.google_token_uri.startswith("https://"):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the loopback emulator
    return Flow.from_client_config(
        _client_config(settings), scopes=list(scopes_for(purpose)), state=state,
        redirect_uri=redirect_uri(settings),
        # Explicit: the default changed between releases, and the callback needs the
        # verifier we keep server-side.
        autogenerate_code_verifier=verifier is None, code_verifier=verifier)


def authorization_url(session: Session, settings: Settings, purpose: OAuthPurpose,
                      user_id: int | None, has_refresh_token: bool = False,
                      login_hint: str = "") -> str:
    """Where to send the browser; the state and PKCE verifier are stored until the callback.
    Commits."""
    state = secrets.token_urlsafe(32)
    flow = _flow(settings, purpose, state=state)
    extra = {"login_hint": login_hint} if login_hint else {}
    if not has_refresh_token and purpose is OAuthPurpose.CONNECT:
        extra["prompt"] = "consent"  # Google sends a refresh token only on consent
    # google_auth_oauthlib is untyped: the URL is the first of the pair it returns.
    url: str = flow.authorization_url(access_type="offline", include_granted_scopes="true",
                                      state=state, **extra)[0]
    assert flow.code_verifier is not None
    session.add(OAuthState(state=state, purpose=purpose, user_id=user_id,
                           code_verifier=flow.code_verifier))
    session.commit()
    return url


def finish(session: Session, settings: Settings, state: str, code: str) -> Grant:
    """Exchange the callback's code; raises OAuthFailed with a sentence for the user. The
    state is used up (committed) before Google is asked, so a code works once."""
    saved = use_state(session, state)
    flow = _flow(settings, saved.purpose, state=state, verifier=saved.code_verifier)
    try:
        token = flow.fetch_token(code=code)
    except (OAuth2Error, requests.RequestException, ValueError) as exc:
        raise OAuthFailed("Google did not accept the sign-in.",
                          "Try again; if it keeps failing, reconnect from the start.") from exc
    granted = frozenset(token.get("scope", []) if isinstance(token.get("scope"), list)
                        else str(token.get("scope", "")).split())
    claims = _claims(token)
    credentials = {
        "token": token.get("access_token"),
        "refresh_token": token.get("refresh_token"),
        "expiry": _expiry(token),
        "scopes": sorted(granted),
    }
    return Grant(credentials, granted, str(claims.get("email", "")).lower(),
                 str(claims.get("sub", "")), saved.purpose, saved.user_id,
                 email_verified=claims.get("email_verified") in (True, "true"))


def use_state(session: Session, state: str,
              ours: Callable[[OAuthState], bool] = lambda _saved: True) -> OAuthState:
    """The stored round trip `state` names, used up (committed) so its code works once;
    OAuthFailed, before changing anything but forgetting stale round trips, when it
    expired, was not started here, or is not `ours`."""
    session.execute(delete(OAuthState).where(
        OAuthState.created_at < datetime.now(UTC) - STATE_TTL))
    saved = session.get(OAuthState, state) if state else None
    if saved is None or not ours(saved):
        raise OAuthFailed("This sign-in link expired or was not started here.",
                          "Start again from calsync.")
    session.delete(saved)
    session.commit()
    return saved


def abandon(session: Session, state: str) -> OAuthPurpose | None:
    """Forget a round trip Google ended with an error; returns what it was for, or None
    when it is unknown here. Commits."""
    saved = session.get(OAuthState, state) if state else None
    if saved is None:
        return None
    session.delete(saved)
    session.commit()
    return saved.purpose


def missing_scopes(grant: Grant) -> list[str]:
    needed = set(scopes_for(grant.purpose)) - {"openid"}
    aliases = {"email", "https://www.googleapis.com/auth/userinfo.email"}
    have = set(grant.scopes) | (aliases if grant.scopes & aliases else set())
    return sorted(needed - have)


def _claims(token: dict[str, Any]) -> dict[str, Any]:
    # The id_token came straight from the token endpoint over TLS, so its claims can be
    # read without fetching Google's signing keys (calsync reaches Google only through
    # its four configured endpoints).
    raw = token.get("id_token")
    return dict(jwt.decode(raw, verify=False)) if raw else {}


def _expiry(token: dict[str, Any]) -> str | None:
    if "expires_at" in token:
        return datetime.fromtimestamp(float(token["expires_at"]), UTC).isoformat()
    if "expires_in" in token:
        return (datetime.now(UTC) + timedelta(seconds=int(token["expires_in"]))).isoformat()
    return None


def revoke(settings: Settings, credentials: dict[str, Any]) -> None:
    """Best effort: a token Google already dropped is as good as revoked."""
    token = credentials.get("refresh_token") or credentials.get("token")
    if not token:
        return
    # Disconnecting must work even when Google is unreachable.
    with contextlib.suppress(requests.RequestException):
        requests.post(settings.google_revoke_uri, data={"token": token}, timeout=10)

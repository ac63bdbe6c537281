"""The Microsoft identity platform's authorization code flow with PKCE (msal, inside the
Microsoft provider): the authorization URL, the callback's code exchange, granted scopes,
and who signed in.

msal keeps a flow as a dict between the two steps; calsync keeps the part it needs (the
PKCE verifier and the nonce) server-side in an `OAuthState` row under the flow's state,
marked as Microsoft's so a Google callback can never redeem it (nor the other way round).
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any, Protocol, cast

from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.domain.vocabulary import OAuthPurpose
from calsync.errors import OAuthFailed, SourceError
from calsync.models import OAuthState
from calsync.services.google.oauth import Grant, abandon, use_state

KIND = "microsoft"
CALLBACK_PATH = "/microsoft/callback"
MARK = "microsoft"  # the first word of the stored verifier: this round trip is Microsoft's
# What a connection must be granted (Graph's names, compared in lower case as Graph does).
NEEDED = ("calendars.readwrite", "user.read")
__all__ = ["Grant", "abandon", "authorization_url", "finish", "missing_scopes"]
RETRY = "Try again; if it keeps failing, connect from the start."


class SignsIn(Protocol):
    """What the Microsoft provider offers calsync's OAuth round trip."""

    def start_flow(self, redirect_uri: str, state: str, login_hint: str = "",
                   prompt: str | None = None) -> dict[str, Any]: ...

    def finish_flow(self, flow: dict[str, Any], answer: dict[str, str]) -> dict[str, Any]: ...


def _provider(settings: Settings) -> SignsIn:
    return cast(SignsIn, providers.load(KIND)(settings))


def redirect_uri(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def authorization_url(session: Session, settings: Settings, purpose: OAuthPurpose,
                      user_id: int | None, login_hint: str = "") -> str:
    """Where to send the browser; the state, verifier and nonce are stored until the
    callback. Commits."""
    try:
        with warnings.catch_warnings():
            # msal advises response_mode=form_post at every flow. Microsoft's POST back
            # would be cross-site, so the browser would leave out the session cookie
            # (SameSite=Lax) that ties the round trip to it: calsync takes the query.
            warnings.filterwarnings("ignore", "response_mode='form_post'", UserWarning,
                                    r"msal\.")
            flow = _provider(settings).start_flow(
                redirect_uri(settings), secrets.token_urlsafe(32), login_hint,
                "select_account" if purpose is OAuthPurpose.SIGNIN else None)
    except SourceError as exc:
        raise OAuthFailed("Microsoft's sign-in page can't be reached right now.", RETRY) from exc
    session.add(OAuthState(state=flow["state"], purpose=purpose, user_id=user_id,
                           code_verifier=f"{MARK} {flow['code_verifier']} {flow['nonce']}"))
    session.commit()
    return str(flow["auth_uri"])


def finish(session: Session, settings: Settings, answer: dict[str, str]) -> Grant:
    """Redeem the callback's code (`answer` is its query); raises OAuthFailed with a
    sentence for the user. The state is used up (committed) before Microsoft is asked, so
    a code works once."""
    state = answer.get("state", "")
    saved = use_state(session, state, _marked)
    words = saved.code_verifier.split(" ")
    flow = {"state": state, "redirect_uri": redirect_uri(settings), "code_verifier": words[1],
            "nonce": words[2]}
    try:
        result = _provider(settings).finish_flow(flow, answer)
    except SourceError as exc:
        raise OAuthFailed("Microsoft did not accept the sign-in.", RETRY) from exc
    if "access_token" not in result:
        raise OAuthFailed("Microsoft did not accept the sign-in.", RETRY)
    claims: dict[str, Any] = result.get("id_token_claims") or {}
    granted = frozenset(s.rsplit("/", 1)[-1].lower()
                        for s in str(result.get("scope", "")).split())
    email = str(claims.get("email") or claims.get("preferred_username") or "").lower()
    # oid names the user in their tenant; with tid, across Microsoft.
    subject = f"{claims.get('tid', '')}:{claims['oid']}" if claims.get("oid") else ""
    return Grant(result["credentials"], granted, email, subject, saved.purpose, saved.user_id,
                 # xms_edov: Microsoft verified that the email's domain belongs to its owner
                 # (the `email` claim alone is whatever the account's admin typed).
                 email_verified=claims.get("xms_edov") in (True, "true", "1", 1))


def _marked(saved: OAuthState) -> bool:
    """Whether a stored round trip is Microsoft's: its verifier is `MARK verifier nonce`."""
    words = saved.code_verifier.split(" ")
    return len(words) == 3 and words[0] == MARK


def missing_scopes(grant: Grant) -> list[str]:
    if grant.purpose is OAuthPurpose.SIGNIN:
        return [] if grant.email else ["email"]
    return [s for s in NEEDED if s not in grant.scopes]

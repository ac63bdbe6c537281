"""Google in the browser: connect a calendar (OAuth), sign in with Google, the calendar
picker and disconnect.

Every OAuth round trip is bound twice: its `state` (with the PKCE verifier) is stored
server-side, and also remembered in this browser's session, so a callback link made in
someone else's browser cannot connect their Google account to you, or sign you in as them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, request, url_for
from flask import session as browser
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from calsync.db import get_session
from calsync.domain.vocabulary import OAuthPurpose
from calsync.errors import LimitReached, NeedsConsent, OAuthFailed
from calsync.services.google import connections, oauth
from calsync.web import calendar_picker, current_settings, oauth_views
from calsync.web.throttle import signin_by_address

if TYPE_CHECKING:
    from calsync.models import Source, User

log = logging.getLogger(__name__)

bp = Blueprint("google", __name__)

STATES_KEY = "google_oauth_states"
SIGNUP_ZONE_KEY = "google_signup_timezone"
SIGNIN_NEXT_KEY = "google_signin_next"
CONSENT_RETRY_KEY = "google_consent_retry"
TRIPS = oauth_views.RoundTrips("Google", STATES_KEY, SIGNUP_ZONE_KEY, SIGNIN_NEXT_KEY)
SCOPES_MESSAGE = ("calsync needs permission to see and edit events on your calendars; "
                  "connect again and leave both boxes ticked.")
SIGNIN_SCOPES_MESSAGE = ("calsync needs to know your Google account's email address to sign "
                         "you in; sign in again and allow it.")


@bp.app_context_processor
def _google_mode() -> dict[str, Any]:
    # Without a client id of their own, "Google" is the bundled emulator: pages say so.
    return {"google_demo": not current_settings().google_client_id}


def _start(purpose: OAuthPurpose, user_id: int | None, has_refresh_token: bool = False,
           login_hint: str = "") -> Response:
    url = oauth.authorization_url(get_session(), current_settings(), purpose, user_id,
                                  has_refresh_token=has_refresh_token,
                                  login_hint=login_hint)
    return TRIPS.go(url)


@bp.post("/google/connect")
@login_required
def connect() -> Response:
    """Connect a Google account; with `source_id`, reconnect that source's account."""
    user: User = current_user
    session = get_session()
    source_id = request.form.get("source_id", type=int)
    if source_id is not None:
        source = _google_source(source_id)
        # A revoked or disconnected grant needs consent again to get a new refresh token.
        return _start(OAuthPurpose.CONNECT, user.id, has_refresh_token=False,
                      login_hint=(source.options or {}).get("account", ""))
    browser.pop(CONSENT_RETRY_KEY, None)
    return _start(OAuthPurpose.CONNECT, user.id,
                  has_refresh_token=connections.holds_refresh_token(session, user))


@bp.post("/google/signin")
@signin_by_address
def signin() -> Response:
    TRIPS.remember_signin()
    return _start(OAuthPurpose.SIGNIN, None)


@bp.get("/google/callback")
def callback() -> Response | tuple[str, int]:
    refusal = TRIPS.refusal(oauth.abandon)
    if refusal is not None:
        return TRIPS.failed(refusal.message, refusal.purpose, refusal.status)
    code = request.args.get("code", "")
    if not code:
        return TRIPS.failed("Google's answer had no authorization code.", None)
    try:
        grant = oauth.finish(get_session(), current_settings(),
                             request.args.get("state", ""), code)
    except OAuthFailed as failure:
        return TRIPS.failed(str(failure), None)
    if grant.purpose is OAuthPurpose.SIGNIN:
        return _signed_in(grant)
    return _connected(grant)


def _connected(grant: oauth.Grant) -> Response | tuple[str, int]:
    if not oauth_views.started_here(grant.user_id):
        return TRIPS.failed(oauth_views.WRONG_PERSON, OAuthPurpose.CONNECT)
    if oauth.missing_scopes(grant):
        return TRIPS.failed(SCOPES_MESSAGE, OAuthPurpose.CONNECT)
    session, settings = get_session(), current_settings()
    user: User = current_user
    try:
        source, new = connections.connect(session, settings, user, grant)
    except NeedsConsent as needs:
        if browser.pop(CONSENT_RETRY_KEY, False):
            return TRIPS.failed(str(needs), OAuthPurpose.CONNECT)
        browser[CONSENT_RETRY_KEY] = True  # once: with consent Google sends a refresh token
        return _start(OAuthPurpose.CONNECT, user.id, has_refresh_token=False,
                      login_hint=needs.account)
    except LimitReached as full:
        return TRIPS.failed(f"This Google account was not connected: {full.message}",
                       OAuthPurpose.CONNECT, 422)
    browser.pop(CONSENT_RETRY_KEY, None)
    connections.start_syncing(session, settings, source)
    return oauth_views.connected(source, new, "primary")


def _signed_in(grant: oauth.Grant) -> Response | tuple[str, int]:
    if oauth.missing_scopes(grant):
        return TRIPS.failed(SIGNIN_SCOPES_MESSAGE, OAuthPurpose.SIGNIN)
    try:
        user = connections.sign_in(get_session(), grant, TRIPS.signup_zone())
    except OAuthFailed as failure:
        return TRIPS.failed(str(failure), OAuthPurpose.SIGNIN)
    return TRIPS.signed_in(user)


def _google_source(source_id: int) -> Source:
    return oauth_views.own_source(source_id, connections.KIND, "No such Google Calendar source.")


@bp.route("/sources/<int:source_id>/calendars", methods=["GET", "POST"])
@login_required
def calendars(source_id: int) -> Response | tuple[str, int]:
    return calendar_picker.picker(_google_source(source_id), connections,
                                  url_for("google.calendars", source_id=source_id),
                                  "Google", "primary")


@bp.post("/sources/<int:source_id>/disconnect")
@login_required
def disconnect(source_id: int) -> Response:
    source = _google_source(source_id)
    connections.disconnect(get_session(), current_settings(), source)
    return oauth_views.disconnected(source)

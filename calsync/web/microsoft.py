"""Microsoft 365 / Outlook in the browser: connect an account (OAuth through msal), sign in
with Microsoft, the calendar picker, and disconnect; and Graph's change notifications at
calsync's webhook.

Each round trip is bound as Google's are (`calsync.web.oauth_views`): its state is stored
server-side with the PKCE verifier and nonce, and remembered in this browser's session.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from calsync.config import Settings
from calsync.db import get_session
from calsync.domain.vocabulary import OAuthPurpose
from calsync.errors import LimitReached, OAuthFailed
from calsync.services.microsoft import connections, oauth, subscriptions
from calsync.web import calendar_picker, csrf, current_settings, oauth_views
from calsync.web.throttle import signin_by_address

if TYPE_CHECKING:
    from calsync.models import Source, User

log = logging.getLogger(__name__)

bp = Blueprint("microsoft", __name__)

STATES_KEY = "microsoft_oauth_states"
SIGNUP_ZONE_KEY = "microsoft_signup_timezone"
SIGNIN_NEXT_KEY = "microsoft_signin_next"
DEFAULT_AUTHORITY_HOST = Settings.microsoft_authority_host  # the declared default: Microsoft
TRIPS = oauth_views.RoundTrips("Microsoft", STATES_KEY, SIGNUP_ZONE_KEY, SIGNIN_NEXT_KEY)
SCOPES_MESSAGE = ("calsync needs permission to read and write your calendars and to read "
                  "your profile; connect again and accept every permission.")


@bp.app_context_processor
def _microsoft_mode() -> dict[str, Any]:
    # Without a client id of their own, "Microsoft" is the bundled emulator: pages say so.
    # "Sign in with Microsoft" shows only where an answer can come from: a client of one's
    # own, or an emulator standing in for Microsoft's identity platform (`calsync run`).
    settings = current_settings()
    return {"microsoft_demo": not settings.microsoft_client_id,
            "microsoft_signin": bool(settings.microsoft_client_id)
            or settings.microsoft_authority_host != DEFAULT_AUTHORITY_HOST}


def _start(purpose: OAuthPurpose, user_id: int | None,
           login_hint: str = "") -> Response | tuple[str, int]:
    try:
        url = oauth.authorization_url(get_session(), current_settings(), purpose, user_id,
                                      login_hint=login_hint)
    except OAuthFailed as failure:
        return TRIPS.failed(str(failure), purpose, 503)
    return TRIPS.go(url)


@bp.post("/microsoft/connect")
@login_required
def connect() -> Response | tuple[str, int]:
    """Connect a Microsoft account; with `source_id`, reconnect that source's account."""
    source_id = request.form.get("source_id", type=int)
    hint = ""
    if source_id is not None:
        hint = str((_microsoft_source(source_id).options or {}).get("account", ""))
    return _start(OAuthPurpose.CONNECT, current_user.id, login_hint=hint)


@bp.post("/microsoft/signin")
@signin_by_address
def signin() -> Response | tuple[str, int]:
    TRIPS.remember_signin()
    return _start(OAuthPurpose.SIGNIN, None)


@bp.get("/microsoft/callback")
def callback() -> Response | tuple[str, int]:
    refusal = TRIPS.refusal(oauth.abandon)
    if refusal is not None:
        return TRIPS.failed(refusal.message, refusal.purpose, refusal.status)
    try:
        grant = oauth.finish(get_session(), current_settings(), request.args.to_dict())
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
    session = get_session()
    user: User = current_user
    try:
        source, new = connections.connect(session, current_settings(), user, grant)
    except LimitReached as full:
        return TRIPS.failed(f"This Microsoft account was not connected: {full.message}",
                            OAuthPurpose.CONNECT, 422)
    except OAuthFailed as failure:
        return TRIPS.failed(str(failure), OAuthPurpose.CONNECT)
    connections.start_syncing(session, current_settings(), source)
    return oauth_views.connected(source, new, "default")


def _signed_in(grant: oauth.Grant) -> Response | tuple[str, int]:
    if oauth.missing_scopes(grant):
        return TRIPS.failed("calsync needs to know your Microsoft account's email address "
                            "to sign you in; sign in again and allow it.", OAuthPurpose.SIGNIN)
    try:
        user = connections.sign_in(get_session(), grant, TRIPS.signup_zone())
    except OAuthFailed as failure:
        return TRIPS.failed(str(failure), OAuthPurpose.SIGNIN)
    return TRIPS.signed_in(user)


def _microsoft_source(source_id: int) -> Source:
    return oauth_views.own_source(source_id, connections.KIND, "No such Microsoft 365 source.")


@bp.route("/microsoft/sources/<int:source_id>/calendars", methods=["GET", "POST"])
@login_required
def calendars(source_id: int) -> Response | tuple[str, int]:
    """Which of the account's calendars are read and which receives follow-ups."""
    return calendar_picker.picker(_microsoft_source(source_id), connections,
                                  url_for("microsoft.calendars", source_id=source_id),
                                  "Microsoft", "default")


@bp.post("/microsoft/sources/<int:source_id>/disconnect")
@login_required
def disconnect(source_id: int) -> Response:
    source = _microsoft_source(source_id)
    connections.disconnect(get_session(), source)
    return oauth_views.disconnected(source)


# Graph's change notifications. Graph sends no cookie and no CSRF token: each notification
# carries its subscription's clientState instead, compared in constant time. Graph wants an
# answer within three seconds (else it retries, then drops the subscription): 202 at once,
# 503 when calsync itself is down (Graph retries).

MAX_TOKEN = 1024  # a validation token is far shorter; a longer one is not Graph's
MAX_FIELD = 255


@bp.post("/webhooks/microsoft", endpoint="webhook")
@bp.post("/webhooks/microsoft/lifecycle", endpoint="lifecycle_webhook")
@csrf.exempt
def webhook() -> Response:
    token = request.args.get("validationToken")
    if token is not None:  # the handshake when a subscription is made: echo it, as text
        if len(token) > MAX_TOKEN or not token.isprintable():
            return Response(status=400)
        return Response(token, status=200, mimetype="text/plain")
    body = request.get_json(silent=True)
    items = body.get("value") if isinstance(body, dict) else None
    notes = [subscriptions.Notification(_field(item, "subscriptionId"),
                                        _field(item, "clientState"),
                                        _field(item, "lifecycleEvent"))
             for item in (items if isinstance(items, list) else []) if isinstance(item, dict)]
    try:
        subscriptions.receive(get_session(), current_settings(), notes)
    except Exception:
        log.exception("graph notification failed")
        return Response(status=503)
    return Response(status=202)


def _field(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    return value if isinstance(value, str) and len(value) <= MAX_FIELD else ""

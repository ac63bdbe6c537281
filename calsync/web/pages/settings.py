"""Settings: time zone, who counts as internal, skip keywords, cadence, API tokens, the feed,
the password and signing out everywhere.

Changing the prompting rules makes calsync judge already-skipped meetings again.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask import flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from calsync.config import Settings
from calsync.db import get_session
from calsync.domain.cadence import Cadence, CadenceError
from calsync.domain.prompting import DEFAULT_SKIP_KEYWORDS
from calsync.errors import ValidationFailed
from calsync.feed import cache as feedcache
from calsync.models import User
from calsync.services import accounts
from calsync.services import prompts as prompts_service
from calsync.web import current_settings
from calsync.web.auth import PasswordForm, signed_out_everywhere
from calsync.web.pages import bp
from calsync.web.pages.forms import ActionForm, CadenceForm, RulesForm, TimezoneForm, TokenForm
from calsync.web.throttle import password_change_by_user

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_DOMAINS = 50
MAX_KEYWORDS = 100


@cache
def _zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


def _lines(text: str) -> list[str]:
    """Comma- or newline-separated entries, trimmed, blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,\n]", text or ""):
        cleaned = " ".join(part.split()).lower()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def _cadence_form(user: User, settings: Settings) -> CadenceForm:
    cadence = prompts_service.cadence_for(user, settings)
    data = cadence.to_mapping()
    data["gaps_days"] = ", ".join(str(g) for g in cadence.gaps_days)
    data["usual_low"], data["usual_high"] = cadence.usual_touches
    return CadenceForm(formdata=None, data=data)


def _render(token: str | None = None, forms: dict[str, Any] | None = None,
            status: int = 200) -> Response:
    user: User = current_user
    settings = current_settings()
    session = get_session()
    keywords = DEFAULT_SKIP_KEYWORDS if user.skip_keywords is None else user.skip_keywords
    context: dict[str, Any] = {
        "timezone_form": TimezoneForm(formdata=None, data={"timezone": user.timezone}),
        "rules_form": RulesForm(formdata=None, data={
            "internal_domains": "\n".join(user.internal_domains or []),
            "skip_keywords": "\n".join(keywords)}),
        "cadence_form": _cadence_form(user, settings),
        "token_form": TokenForm(formdata=None),
        "action": ActionForm(formdata=None),
        "password_form": PasswordForm(formdata=None),
        **(forms or {}),
    }
    response = make_response(render_template(
        "settings.html", zones=_zones(), tokens=accounts.api_tokens(session, user),
        new_token=token, feed_url=feedcache.feed_url(settings, user),
        webcal_url=feedcache.webcal_url(settings, user),
        default_keywords=DEFAULT_SKIP_KEYWORDS, custom_keywords=user.skip_keywords is not None,
        custom_cadence=bool(user.cadence), own_domain=user.email.rpartition("@")[2],
        has_password=bool(user.password_hash),
        logins=accounts.live_logins(session, user, accounts.login_lifetime(settings)),
        **context),
        status)
    # The feed URL and a new token's plaintext are secrets: no cache may keep this page.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/settings")
@login_required
def settings() -> Response:
    return _render()


@bp.post("/settings/timezone")
@login_required
def save_timezone() -> Response:
    form = TimezoneForm()
    user: User = current_user
    if form.validate():
        try:
            user.timezone = accounts.check_timezone(form.timezone.data or "")
        except ValidationFailed as error:
            form.timezone.errors = [*form.timezone.errors, error.message]
        else:
            get_session().commit()
            flash(f"Times are now shown in {user.timezone}.")
            return redirect(url_for("pages.settings"))
    return _render(forms={"timezone_form": form}, status=422)


@bp.post("/settings/rules")
@login_required
def save_rules() -> Response:
    form = RulesForm()
    user: User = current_user
    if not form.validate():
        return _render(forms={"rules_form": form}, status=422)
    domains = _lines(form.internal_domains.data or "")
    keywords = _lines(form.skip_keywords.data or "")
    bad = [d for d in domains if not DOMAIN_RE.match(d.removeprefix("@"))]
    if bad:
        form.internal_domains.errors = [f"Not a domain: {', '.join(bad[:5])}. "
                                        "Write them like acme.com, one per line."]
    if len(domains) > MAX_DOMAINS:
        form.internal_domains.errors = [f"Keep it to {MAX_DOMAINS} domains."]
    if len(keywords) > MAX_KEYWORDS or any(len(k) > 100 for k in keywords):
        form.skip_keywords.errors = [f"Keep it to {MAX_KEYWORDS} keywords of up to 100 letters."]
    if form.internal_domains.errors or form.skip_keywords.errors:
        return _render(forms={"rules_form": form}, status=422)
    user.internal_domains = [d.removeprefix("@") for d in domains]
    user.skip_keywords = None if tuple(keywords) == DEFAULT_SKIP_KEYWORDS else keywords
    session = get_session()
    prompts_service.reset_prompt_skips(session, user)
    session.commit()
    flash("Saved. Meetings from now on follow these rules; prompts already in your inbox stay.")
    return redirect(url_for("pages.settings") + "#rules")


@bp.post("/settings/rules/reset-keywords")
@login_required
def reset_keywords() -> Response:
    user: User = current_user
    user.skip_keywords = None
    session = get_session()
    prompts_service.reset_prompt_skips(session, user)
    session.commit()
    flash("Skip keywords are back to the defaults.")
    return redirect(url_for("pages.settings") + "#rules")


@bp.post("/settings/cadence")
@login_required
def save_cadence() -> Response:
    form = CadenceForm()
    user: User = current_user
    if not form.validate():
        return _render(forms={"cadence_form": form}, status=422)
    try:
        gaps = [int(part) for part in re.split(r"[\s,]+", form.gaps_days.data or "") if part]
    except ValueError:
        form.gaps_days.errors = ["Write whole numbers of days, like 2, 3, 5, 7."]
        return _render(forms={"cadence_form": form}, status=422)
    base = prompts_service.base_cadence(current_settings())

    def given(value: Any, default: Any) -> Any:
        return default if value is None else value

    mapping: dict[str, Any] = {
        "gaps_days": gaps,
        "usual_touches": [form.usual_low.data, form.usual_high.data],
        "suggest_close_after": form.suggest_close_after.data,
        "min_gap_days": given(form.min_gap_days.data, base.min_gap_days),
        "usual_hour": given(form.usual_hour.data, base.usual_hour),
        "usual_minute": given(form.usual_minute.data, base.usual_minute),
        "working_days": list(form.working_days.data or []),
        "default_channel": form.default_channel.data,
        "default_duration_minutes": form.default_duration_minutes.data,
    }
    try:
        Cadence.from_mapping(mapping, base=base)
    except CadenceError as error:
        field = {"usual_touches": "usual_low"}.get(error.key, error.key)
        target = getattr(form, field, form.gaps_days)
        target.errors = [*target.errors, error.message]
        return _render(forms={"cadence_form": form}, status=422)
    # Keep only what differs, so later changes to the shared defaults still reach this user.
    defaults = base.to_mapping()
    changes = {key: value for key, value in mapping.items() if defaults.get(key) != value}
    user.cadence = changes or None
    get_session().commit()
    flash("Saved your cadence. New suggestions follow it.")
    return redirect(url_for("pages.settings") + "#cadence")


@bp.post("/settings/cadence/reset")
@login_required
def reset_cadence() -> Response:
    user: User = current_user
    user.cadence = None
    get_session().commit()
    flash("Your cadence is back to the defaults.")
    return redirect(url_for("pages.settings") + "#cadence")


@bp.post("/settings/tokens")
@login_required
def create_token() -> Response:
    form = TokenForm()
    if not form.validate():
        return _render(forms={"token_form": form}, status=422)
    session = get_session()
    _, plaintext = accounts.create_api_token(session, current_user, form.name.data or "")
    session.commit()
    # Shown in this response only: a redirect would have to park the secret in the cookie.
    return _render(token=plaintext)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    session = get_session()
    accounts.revoke_api_token(session, current_user, token_id)
    session.commit()
    flash("Revoked the token. Anything using it can no longer reach your data.")
    return redirect(url_for("pages.settings") + "#tokens")


@bp.post("/settings/feed/rotate")
@login_required
def rotate_feed() -> Response:
    accounts.rotate_feed_token(current_user)
    get_session().commit()
    flash("Your feed has a new address; the old one no longer works. "
          "Subscribe your calendar to the new one.")
    return redirect(url_for("pages.settings") + "#feed")


@bp.post("/settings/password")
@login_required
@password_change_by_user
def change_password() -> Response:
    form = PasswordForm()
    if form.validate():
        session = get_session()
        try:
            accounts.change_password(session, current_user, form.current_password.data or "",
                                     form.new_password.data or "")
        except ValidationFailed as error:
            field = getattr(form, error.field)
            field.errors = [*field.errors, error.message.capitalize()]
        else:
            session.commit()
            flash("Your password is changed, and every other browser is signed out.")
            return redirect(url_for("pages.settings") + "#signin")
    return _render(forms={"password_form": form}, status=422)


@bp.post("/settings/sessions/revoke")
@login_required
def sign_out_everywhere() -> Response:
    ended = signed_out_everywhere()
    flash(f"Signed out of calsync everywhere: {ended} sign-in{'s' if ended != 1 else ''} "
          "ended, this one included.")
    return redirect(url_for("auth.login"))

"""Settings: time zone, emails, who counts as internal, skip keywords, cadence, API tokens,
the feed, the password and signing out everywhere.

Changing the prompting rules makes calsync judge already-skipped meetings again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import flash, make_response, redirect, render_template, url_for
from flask import session as browser_session
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from calsync.config import Settings
from calsync.db import get_session
from calsync.domain.prompting import DEFAULT_SKIP_KEYWORDS
from calsync.errors import ValidationFailed
from calsync.services import accounts, cadences, notifications
from calsync.services import settings as settings_service
from calsync.web import current_settings
from calsync.web.auth import PasswordForm, signed_out_everywhere
from calsync.web.pages import bp
from calsync.web.pages.forms import (
    ActionForm,
    CadenceForm,
    NotificationsForm,
    RulesForm,
    TimezoneForm,
    TokenForm,
)
from calsync.web.pages.sources import feed_subscription
from calsync.web.pages.webhooks import webhooks_context
from calsync.web.throttle import password_change_by_user

if TYPE_CHECKING:
    from calsync.models import User


def _cadence_form(user: User, settings: Settings) -> CadenceForm:
    cadence = cadences.cadence_for(user, settings)
    data = cadence.to_mapping()
    data["gaps_days"] = ", ".join(str(g) for g in cadence.gaps_days)
    data["usual_low"], data["usual_high"] = cadence.usual_touches
    return CadenceForm(formdata=None, data=data)


def _notifications_form(user: User) -> NotificationsForm:
    chosen = notifications.choices(user)
    return NotificationsForm(formdata=None, data={
        "email_prompts": chosen.email_prompts, "summary_hour": chosen.summary_hour,
        "quiet_start": notifications.clock(chosen.quiet_start),
        "quiet_end": notifications.clock(chosen.quiet_end),
        "digest": chosen.digest, "digest_hour": chosen.digest_hour})


# Where a new API token's sealed plaintext waits for the page after the redirect, once.
_SHOWN_ONCE = "new_api_token"


def _render(token: str | None = None, forms: dict[str, Any] | None = None,
            status: int = 200) -> Response:
    """The page; `forms` are those posted back with their errors, which the page summarises
    at its top."""
    user: User = current_user
    settings = current_settings()
    session = get_session()
    context: dict[str, Any] = {
        "timezone_form": TimezoneForm(formdata=None, data={"timezone": user.timezone}),
        "rules_form": RulesForm(formdata=None, data={
            "internal_domains": "\n".join(user.internal_domains or []),
            "skip_keywords": "\n".join(cadences.skip_keywords(user))}),
        "cadence_form": _cadence_form(user, settings),
        "notifications_form": _notifications_form(user),
        "token_form": TokenForm(formdata=None),
        "action": ActionForm(formdata=None),
        "password_form": PasswordForm(formdata=None),
        **webhooks_context(session, settings, user),
        **(forms or {}),
    }
    response = make_response(render_template(
        "settings.html", regions=settings_service.zone_regions(),
        zone=settings_service.canonical_zone(context["timezone_form"].timezone.data or ""),
        invalid=[f for form in (forms or {}).values() for f in form if f.errors],
        tokens=accounts.api_tokens(session, user),
        new_token=token, feed=feed_subscription(session, settings, user),
        default_keywords=DEFAULT_SKIP_KEYWORDS, custom_keywords=user.skip_keywords is not None,
        custom_cadence=bool(user.cadence), own_domain=user.email.rpartition("@")[2],
        has_password=bool(user.password_hash),
        mail=notifications.delivery(session, settings, user),
        logins=accounts.live_logins(session, user, accounts.login_lifetime(settings)),
        **context),
        status)
    # The feed URL and a new token's plaintext are secrets: no cache may keep this page.
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(name: str, form: FlaskForm) -> Response:
    """The page again with `form` as it was posted, its errors beside their fields."""
    return _render(forms={name: form}, status=422)


def _show(field: Any, error: ValidationFailed) -> None:
    """Put a service's error beside its form field, as a sentence."""
    field.errors = [*field.errors, error.message[:1].upper() + error.message[1:]]


@bp.get("/settings")
@login_required
def settings() -> Response:
    sealed = browser_session.pop(_SHOWN_ONCE, None)
    token = settings_service.unseal_new_token(current_settings(), sealed) if sealed else None
    return _render(token=token)


@bp.post("/settings/timezone")
@login_required
def save_timezone() -> Response:
    form = TimezoneForm()
    user: User = current_user
    if form.validate():
        try:
            settings_service.set_timezone(get_session(), user, form.timezone.data or "")
        except ValidationFailed as error:
            _show(form.timezone, error)
        else:
            flash(f"Times are now shown in {user.timezone}.")
            return redirect(url_for("pages.settings"))
    return _refused("timezone_form", form)


@bp.post("/settings/notifications")
@login_required
def save_notifications() -> Response:
    form = NotificationsForm()
    if not form.validate():
        return _refused("notifications_form", form)
    changes = notifications.Changes(
        email_prompts=form.email_prompts.data, summary_hour=form.summary_hour.data,
        quiet_start=form.quiet_start.data, quiet_end=form.quiet_end.data,
        digest=form.digest.data, digest_hour=form.digest_hour.data)
    problems = notifications.problems(current_user, changes)
    for problem in problems:  # every field's problem at once, not only the first
        _show(getattr(form, problem.field), problem)
    if problems:
        return _refused("notifications_form", form)
    notifications.change(get_session(), current_user, changes)
    flash("Saved your email choices.")
    return redirect(url_for("pages.settings") + "#notifications")


@bp.post("/settings/notifications/resume")
@login_required
def resume_email() -> Response:
    notifications.clear_refused(get_session(), current_user)
    flash(f"calsync will email {current_user.email} again.")
    return redirect(url_for("pages.settings") + "#notifications")


@bp.post("/settings/rules")
@login_required
def save_rules() -> Response:
    form = RulesForm()
    if not form.validate():
        return _refused("rules_form", form)
    domains, keywords = form.internal_domains.data or "", form.skip_keywords.data or ""
    problems = settings_service.rules_problems(domains, keywords)
    for problem in problems:  # every field's problem at once, not only the first
        _show(getattr(form, problem.field), problem)
    if problems:
        return _refused("rules_form", form)
    settings_service.save_rules(get_session(), current_user, domains, keywords)
    flash("Saved. Meetings from now on follow these rules; prompts already in your inbox stay.")
    return redirect(url_for("pages.settings") + "#rules")


@bp.post("/settings/rules/reset-keywords")
@login_required
def reset_keywords() -> Response:
    settings_service.reset_skip_keywords(get_session(), current_user)
    flash("Skip keywords are back to the defaults.")
    return redirect(url_for("pages.settings") + "#rules")


@bp.post("/settings/cadence")
@login_required
def save_cadence() -> Response:
    form = CadenceForm()
    form.validate()  # the service checks the meaning too: every problem is shown at once
    choices = settings_service.CadenceChoices(
        gaps_days=form.gaps_days.data or "", usual_low=form.usual_low.data,
        usual_high=form.usual_high.data, suggest_close_after=form.suggest_close_after.data,
        min_gap_days=form.min_gap_days.data, usual_hour=form.usual_hour.data,
        usual_minute=form.usual_minute.data, working_days=list(form.working_days.data or []),
        default_channel=form.default_channel.data,
        default_duration_minutes=form.default_duration_minutes.data,
        promise_margin_days=form.promise_margin_days.data,
        follow_through_days=form.follow_through_days.data,
        after_sale=list(form.after_sale.data or []), check_in_days=form.check_in_days.data,
        referral_days=form.referral_days.data, upsell_days=form.upsell_days.data,
        revisit_days=form.revisit_days.data)
    for problem in settings_service.cadence_problems(current_settings(), choices):
        getattr(form, problem.field).errors = [problem.message]  # its words over the form's
    if any(field.errors for field in form):
        return _refused("cadence_form", form)
    settings_service.save_cadence(get_session(), current_settings(), current_user, choices)
    flash("Saved your cadence. New suggestions follow it.")
    return redirect(url_for("pages.settings") + "#cadence")


@bp.post("/settings/cadence/reset")
@login_required
def reset_cadence() -> Response:
    settings_service.reset_cadence(get_session(), current_user)
    flash("Your cadence is back to the defaults.")
    return redirect(url_for("pages.settings") + "#cadence")


@bp.post("/settings/tokens")
@login_required
def create_token() -> Response:
    form = TokenForm()
    if not form.validate():
        return _refused("token_form", form)
    _, plaintext = accounts.create_api_token(get_session(), current_user, form.name.data or "")
    # Redirected, so a reload creates no second token; the page shows the plaintext once,
    # sealed in the cookie until then.
    browser_session[_SHOWN_ONCE] = settings_service.seal_new_token(current_settings(), plaintext)
    # Landing on the token itself: a fragment's target takes the focus from any script's.
    return redirect(url_for("pages.settings") + "#new-token-box")


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    accounts.revoke_api_token(get_session(), current_user, token_id)
    flash("Revoked the token. Anything using it can no longer reach your data.")
    return redirect(url_for("pages.settings") + "#tokens")


@bp.post("/settings/feed/rotate")
@login_required
def rotate_feed() -> Response:
    accounts.rotate_feed_token(get_session(), current_user)
    flash("Your feed has a new address; the old one no longer works. "
          "Subscribe your calendar to the new one.")
    return redirect(url_for("pages.settings") + "#feed")


@bp.post("/settings/password")
@login_required
@password_change_by_user
def change_password() -> Response:
    form = PasswordForm()
    if form.validate():
        try:
            accounts.change_password(get_session(), current_user,
                                     form.current_password.data or "",
                                     form.new_password.data or "")
        except ValidationFailed as error:
            field = getattr(form, error.field)
            field.errors = [*field.errors, error.message.capitalize()]
        else:
            flash("Your password is changed, and every other browser is signed out.")
            return redirect(url_for("pages.settings") + "#signin")
    return _refused("password_form", form)


@bp.post("/settings/sessions/revoke")
@login_required
def sign_out_everywhere() -> Response:
    ended = signed_out_everywhere()
    flash(f"Signed out of calsync everywhere: {ended} sign-in{'s' if ended != 1 else ''} "
          "ended, this one included.")
    return redirect(url_for("auth.login"))

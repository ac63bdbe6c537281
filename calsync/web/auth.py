"""Signing up, in and out with email and password; every form carries a CSRF token.

The time zone asked at sign-up defaults to the browser's, filled in by a line of script.
"""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from calsync import accounts
from calsync.db import get_session
from calsync.errors import ValidationFailed

bp = Blueprint("auth", __name__)


class SignupForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField("Password", validators=[
        DataRequired(), Length(min=accounts.MIN_PASSWORD_LENGTH, max=200)])
    timezone = StringField("Time zone", default="UTC", validators=[DataRequired()])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> str | Response:
    form = SignupForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            user = accounts.create_user(session, form.email.data or "", form.password.data,
                                        form.timezone.data or "UTC")
        except ValidationFailed as error:
            getattr(form, error.field, form.email).errors.append(error.message)
        else:
            session.commit()
            login_user(user, remember=True)
            flash("Welcome to calsync. Add a calendar, or try the sample one.")
            return redirect(url_for("pages.sources"))
    return render_template("signup.html", form=form, timezones=_common_zones())


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(get_session(), form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user, remember=True)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("That email and password don't match an account.")
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only same-site paths: `?next=https://evil.example` must not bounce a user away."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("pages.inbox")


def _common_zones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))

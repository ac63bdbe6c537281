"""Signing up, in and out with email and password; every form carries a CSRF token.

Each sign-in is a login row whose token the cookies carry, so signing out ends it in every
browser. The time zone asked at sign-up defaults to the browser's (web/static/calsync.js).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from calsync.db import get_session
from calsync.errors import ValidationFailed
from calsync.services import accounts
from calsync.services.settings import canonical_zone, zone_regions
from calsync.web import current_settings
from calsync.web.redirects import safe_target
from calsync.web.throttle import signin_by_account, signin_by_address, signup_by_address

if TYPE_CHECKING:
    from calsync.models import User

bp = Blueprint("auth", __name__)


EMAIL_REQUIRED = "Give the email address you sign in with."
LONG_EMAIL = "That email address is too long (at most 320 characters)."
PASSWORD_RULE = f"Use at least {accounts.MIN_PASSWORD_LENGTH} characters (at most 200)."


class SignupForm(FlaskForm):
    email = EmailField("Email", validators=[
        DataRequired(EMAIL_REQUIRED), Email("That doesn't look like an email address."),
        Length(max=320, message=LONG_EMAIL)])
    password = PasswordField("Password", validators=[
        DataRequired("Choose a password."),
        Length(min=accounts.MIN_PASSWORD_LENGTH, max=200, message=PASSWORD_RULE)])
    timezone = StringField("Time zone", default="UTC", validators=[
        DataRequired("Choose your time zone.")])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(EMAIL_REQUIRED),
                                            Length(max=320, message=LONG_EMAIL)])
    password = PasswordField("Password", validators=[
        DataRequired("Give your password."),
        Length(max=200, message="That password is too long (at most 200 characters).")])


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[
        DataRequired("Give your current password."),
        Length(max=200, message="That password is too long (at most 200 characters).")])
    new_password = PasswordField("New password", validators=[
        DataRequired("Choose a new password."),
        Length(min=accounts.MIN_PASSWORD_LENGTH, max=200, message=PASSWORD_RULE)])


def sign_in(user: User) -> None:
    """Start a login of `user` in this browser: a fresh revocable token in both cookies."""
    accounts.start_login(get_session(), user, accounts.login_lifetime(current_settings()))
    login_user(user, remember=True)


def signed_out_everywhere() -> int:
    """End the user's logins in every browser, this one included; returns how many."""
    ended = accounts.end_all_logins(get_session(), current_user)
    logout_user()
    return ended


@bp.route("/signup", methods=["GET", "POST"])
@signup_by_address
def signup() -> str | Response:
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(get_session(), form.email.data or "",
                                        form.password.data, form.timezone.data or "UTC")
        except ValidationFailed as error:
            field = getattr(form, error.field, form.email)
            field.errors = [*field.errors, error.message]
        else:
            sign_in(user)
            flash("Welcome to calsync. Add a calendar, or try the sample one.")
            return redirect(url_for("pages.sources"))
    return render_template("signup.html", form=form, regions=zone_regions(),
                           zone=canonical_zone(form.timezone.data or "UTC"))


@bp.route("/login", methods=["GET", "POST"])
@signin_by_address
@signin_by_account
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(get_session(), form.email.data or "", form.password.data or "")
        if user is not None:
            sign_in(user)
            return redirect(safe_target(request.args.get("next"), url_for("pages.inbox")))
        form.password.errors = [*form.password.errors,
                                "That email and password don't match an account."]
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    accounts.end_login(get_session(), current_user)
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


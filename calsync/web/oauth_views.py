"""What Google's and Microsoft's OAuth views share: each round trip's state remembered in
this browser's session, the callback's checks, and the pages a finished round trip leads to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask import session as browser
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from calsync.db import get_session
from calsync.domain.vocabulary import OAuthPurpose
from calsync.errors import NotFound
from calsync.services import sources as sources_service
from calsync.web.auth import sign_in
from calsync.web.redirects import safe_target

if TYPE_CHECKING:
    from calsync.models import Source, User

MAX_STATES = 5  # round trips in flight per browser (a few tabs)


@dataclass(frozen=True)
class Refusal:
    """Why a callback goes no further: the sentence, what the round trip was for (None:
    unknown here) and the page's status."""

    message: str
    purpose: OAuthPurpose | None
    status: int = 400


@dataclass(frozen=True)
class RoundTrips:
    """One provider's round trips as this browser's session remembers them, under its own
    keys, so a callback link made in someone else's browser is refused here."""

    name: str  # the provider as pages name it: "Google", "Microsoft"
    states_key: str
    signup_zone_key: str
    signin_next_key: str

    def go(self, url: str) -> Response:
        """Send the browser to the provider's `url`, remembering the state it carries."""
        state = parse_qs(urlsplit(url).query).get("state", [""])[0]
        browser[self.states_key] = [*browser.get(self.states_key, [])[-(MAX_STATES - 1):],
                                    state]
        return redirect(url)

    def remember_signin(self) -> None:
        """The sign-in form's time zone (for a new account) and where it was asked to go
        next, checked now and again on the way back."""
        browser[self.signup_zone_key] = (request.form.get("timezone") or "UTC").strip()[:64]
        browser[self.signin_next_key] = safe_target(request.form.get("next"), "")

    def signup_zone(self) -> str:
        return str(browser.pop(self.signup_zone_key, "UTC"))

    def refusal(self, abandon: Callable[[Session, str], OAuthPurpose | None]) -> Refusal | None:
        """The callback's verdict before any code is redeemed: None when the round trip is
        this browser's (now used up) and the provider answered without an error."""
        state = request.args.get("state", "")
        ours = state in browser.get(self.states_key, [])
        if ours:
            browser[self.states_key] = [s for s in browser[self.states_key] if s != state]
        error = request.args.get("error")
        if error:
            purpose = abandon(get_session(), state) if ours else None
            if error == "access_denied":
                return Refusal(f"You cancelled at {self.name}, so nothing was connected.",
                               purpose, 200)
            return Refusal(f"{self.name} could not complete the request ({error[:80]}).",
                           purpose)
        if not ours:
            return Refusal(f"This {self.name} sign-in link was not started in this browser, "
                           "or it has already been used.", None)
        return None

    def failed(self, message: str, purpose: OAuthPurpose | None,
               status: int = 400) -> tuple[str, int]:
        """A page that says what went wrong and where to start again (`purpose` None: the
        round trip is unknown here); never a traceback."""
        signin = purpose is OAuthPurpose.SIGNIN
        heading = f"{self.name} didn't sign you in" if signin else f"{self.name} didn't connect"
        if signin or not current_user.is_authenticated:
            again, again_label = url_for("auth.login"), "Back to sign in"
        else:
            again, again_label = url_for("pages.sources"), "Back to your calendars"
        return render_template("oauth_error.html", heading=heading, message=message,
                               again=again, again_label=again_label), status

    def signed_in(self, user: User) -> Response:
        """Sign `user` in and go where the sign-in page was asked to (else the inbox)."""
        sign_in(user)
        flash(f"Signed in as {user.email} with {self.name}.")
        return redirect(safe_target(browser.pop(self.signin_next_key, None),
                                    url_for("pages.inbox")))


WRONG_PERSON = ("Sign in to calsync as the person who started connecting, then connect "
                "again.")


def started_here(user_id: int | None) -> bool:
    """Whether the signed-in person is the one who started connecting."""
    return bool(current_user.is_authenticated) and current_user.id == user_id


def connected(source: Source, new: bool, first_calendar: str) -> Response:
    """The source's page, saying it is connected (reading its `first_calendar` until the
    user picks) or reconnected."""
    if new:
        flash(f"Connected {source.name}. calsync is reading your {first_calendar} calendar "
              "now; choose other calendars below.")
    else:
        flash(f"Reconnected {source.name}. calsync is reading it again.")
    return redirect(url_for("pages.source", source_id=source.id))


def disconnected(source: Source) -> Response:
    flash(f"Disconnected {source.name}. Its meetings, your answers and follow-ups stay.")
    return redirect(url_for("pages.source", source_id=source.id))


def own_source(source_id: int, kind: str, missing: str) -> Source:
    """The signed-in user's source of `kind`; NotFound(`missing`) for any other."""
    source = sources_service.get_source(get_session(), current_user, source_id)
    if source.kind != kind:
        raise NotFound(missing)
    return source

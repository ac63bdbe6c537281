"""Calendars: the list with sync status, adding by URL, upload, a CalDAV account or the
sample, one calendar's page; the name of the calendar a follow-up is written to.

A new source is read within the request: one that is not a calendar is refused beside its
field with the reason, one that reads lands with its meetings and prompts, and one whose
server is slow is kept and read in the background. A CalDAV account's first sync is queued:
the page says so until it has run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import Field, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from calsync.config import Settings
from calsync.db import get_session
from calsync.errors import LimitReached, NotFound, ValidationFailed
from calsync.feed import cache as feedcache
from calsync.services import caldav_connect, meetings, samples
from calsync.services import sources as sources_service
from calsync.services.google import connections
from calsync.web import current_settings
from calsync.web.pages import bp
from calsync.web.pages.forms import ActionForm, AddUrlForm, UploadForm

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from calsync.models import FollowUp, Source, User

# Google Calendar's "add this calendar" link: Google accepts it (it opens Calendar with the
# feed ready to subscribe to) but does not document it; the page keeps the by-hand steps.
GOOGLE_SUBSCRIBE = "https://calendar.google.com/calendar/r?cid="


class CaldavForm(FlaskForm):
    """A CalDAV account: the server's address, the user name and an (app-specific) password."""

    # Ids of their own: the page's ICS form has a `url` field too.
    url = StringField("Server address", id="caldav-url", validators=[
        DataRequired("Enter the CalDAV server's address."),
        Length(max=2048, message="That address is too long: 2048 characters at most.")])
    username = StringField("User name", id="caldav-username", validators=[
        DataRequired("Enter the account's user name."), Length(max=320)])
    password = PasswordField("Password", id="caldav-password", validators=[
        DataRequired("Enter the account's password."), Length(max=1000)])
    name = StringField("Name", id="caldav-name", validators=[
        Optional(), Length(max=200, message="Keep the name to 200 characters or fewer.")])


@dataclass(frozen=True)
class FeedSubscription:
    """The follow-ups feed's addresses and one-click subscriptions, as the Settings page's
    #feed and the Calendars page offer them."""

    https: str
    webcal: str  # what Apple Calendar and Outlook open
    google: str
    written_to: list[str]  # the calendars (any account's) already receiving the follow-ups


def feed_subscription(session: Session, settings: Settings, user: User) -> FeedSubscription:
    webcal = feedcache.webcal_url(settings, user)
    return FeedSubscription(
        https=feedcache.feed_url(settings, user), webcal=webcal,
        google=GOOGLE_SUBSCRIBE + quote(webcal, safe=""),
        written_to=sources_service.calendars_receiving_followups(session, user))


def _render_list(url_form: AddUrlForm | None = None, upload_form: UploadForm | None = None,
                 caldav_form: CaldavForm | None = None, status: int = 200) -> tuple[str, int]:
    return render_template(
        "sources.html",
        sources=sources_service.list_sources(get_session(), current_user).items,
        url_form=url_form or AddUrlForm(formdata=None),
        upload_form=upload_form or UploadForm(formdata=None),
        caldav_form=caldav_form or CaldavForm(formdata=None),
        sample_form=ActionForm(formdata=None),
        caldav_demo=caldav_connect.demo_offered(current_settings()),
        sample=samples.sample_source(get_session(), current_user),
        max_mb=current_settings().fetch_max_bytes // 1_000_000,
        feed=feed_subscription(get_session(), current_settings(), current_user),
    ), status


@bp.get("/sources")
@login_required
def sources() -> tuple[str, int]:
    return _render_list()


@bp.post("/sources/url")
@login_required
def add_url() -> Response | tuple[str, int]:
    form = AddUrlForm()
    if form.validate():
        added = _add(form, form.url, name=form.name.data or "", url=form.url.data or "")
        if added is not None:
            return added
    return _render_list(url_form=form, status=422)


@bp.post("/sources/upload")
@login_required
def add_upload() -> Response | tuple[str, int]:
    form = UploadForm()
    if form.validate():
        data = form.file.data.read(current_settings().fetch_max_bytes + 1)
        name = form.name.data or form.file.data.filename or ""
        added = _add(form, form.file, name=name, upload=data)
        if added is not None:
            return added
    return _render_list(upload_form=form, status=422)


@bp.post("/sources/caldav")
@login_required
def add_caldav() -> Response | tuple[str, int]:
    """Connect a CalDAV account (or give one needing reconnecting its new password)."""
    form = CaldavForm()
    if form.validate():
        started = datetime.now(UTC)
        try:
            added = caldav_connect.connect(
                get_session(), current_settings(), current_user, url=form.url.data or "",
                username=form.username.data or "", password=form.password.data or "",
                name=form.name.data or "")
        except ValidationFailed as error:
            field = getattr(form, error.field, form.url)
            field.errors = [*field.errors, error.message]
        else:
            return _connected(added, started)
    return _render_list(caldav_form=form, status=422)


@bp.post("/sources/caldav-demo")
@login_required
def add_caldav_demo() -> Response | tuple[str, int]:
    """Connect the bundled demo CalDAV account in one click (demo mode: `calsync run`)."""
    # The app-wide CSRFProtect has checked the token; the credentials never reach the page.
    started = datetime.now(UTC)
    try:
        added = caldav_connect.connect_demo(get_session(), current_settings(), current_user)
    except ValidationFailed as error:
        form = CaldavForm(formdata=None)
        form.url.errors = [error.message]
        return _render_list(caldav_form=form, status=422)
    return _connected(added, started)


def _connected(added: Source, started: datetime) -> Response:
    """Go to a CalDAV account just connected (at `started`). Its sync is queued: with no
    worker free yet its meetings are still to come, and "0 meetings read" would say the
    calendars are empty."""
    synced = added.last_synced_at is not None and added.last_synced_at >= started
    read = _meetings_read(added.id) if synced else (
        "calsync is reading its calendars in the background; their meetings show here "
        "once read")
    flash(f"Connected “{added.name}”: {read}. Follow-ups go to "
          f"“{caldav_connect.written_name(added)}”.")
    return redirect(url_for("pages.source", source_id=added.id))


def _add(form: AddUrlForm | UploadForm, where: Field, **source: Any) -> Response | None:
    """Add the source and go to it; on a refusal put the message beside its field."""
    try:
        added = sources_service.add_and_sync(get_session(), current_user, current_settings(),
                                             kind="ics", **source)
    except ValidationFailed as error:
        field = form.name if error.field == "name" else where
        field.errors = [*field.errors, error.message]
        return None
    if added.last_synced_at is None:  # slow to answer: read in the background
        flash(f"Added “{added.name}”. Its server is slow to answer; calsync keeps reading it "
              "in the background.")
    else:
        flash(f"Added “{added.name}”: {_meetings_read(added.id)}.")
    return redirect(url_for("pages.source", source_id=added.id))


def _meetings_read(source_id: int) -> str:
    source = sources_service.get_source(get_session(), current_user, source_id)
    count = meetings.source_meetings(get_session(), source).confirmed
    return f"{count} meeting{'' if count == 1 else 's'} read"


@bp.app_template_global()
def followup_calendar(followup: FollowUp) -> str | None:
    """The name of the calendar that has (or gets) a follow-up's event: where it was
    written, else where its source writes now; None when no source receives it."""
    if followup.target_source_id is None:
        return None
    source = sources_service.get_source(get_session(), current_user, followup.target_source_id)
    options = source.options or {}
    calendar = followup.remote_calendar_id or options.get("calendar_written") or ""
    return str((options.get("calendar_names") or {}).get(calendar) or source.name)


@bp.post("/sources/sample")
@login_required
def add_sample() -> Response:
    try:
        source, new = samples.add_sample_source(get_session(), current_user,
                                                current_settings())
    except LimitReached as error:
        flash(f"The sample calendar was not added: {error.message}")
        return redirect(url_for("pages.sources"))
    if new:
        flash("Added the sample calendar: a week of sales meetings around today. "
              "Its finished meetings are in your inbox.")
        return redirect(url_for("pages.inbox"))
    flash("You already have the sample calendar.")
    return redirect(url_for("pages.source", source_id=source.id))


@bp.get("/sources/<int:source_id>")
@login_required
def source(source_id: int) -> str:
    return _render_source(source_id)[0]


def _render_source(source_id: int, error: ValidationFailed | None = None,
                   picked: tuple[list[str], str] | None = None) -> tuple[str, int]:
    session = get_session()
    source = sources_service.get_source(session, current_user, source_id)
    if source.kind == caldav_connect.KIND and request.args.get("calendars") == "fresh":
        # Asked for: the server is asked again (stored with the source), not on every view.
        caldav_connect.calendar_choices(session, current_settings(), source)
    counts = meetings.source_meetings(session, source)
    sample = samples.sample_source(session, current_user)
    return render_template("source.html", source=source, meetings=counts.confirmed,
                           answered=counts.answered, action=ActionForm(formdata=None),
                           is_sample=sample is not None and sample.id == source.id,
                           calendar_error=error, picked_read=picked[0] if picked else None,
                           picked_written=picked[1] if picked else None), 422 if error else 200


@bp.post("/sources/<int:source_id>/caldav-calendars")
@login_required
def caldav_calendars(source_id: int) -> Response | tuple[str, int]:
    """A CalDAV account's calendars: which are read, which receives follow-ups."""
    session = get_session()
    source = sources_service.get_source(session, current_user, source_id)
    if source.kind != caldav_connect.KIND:
        raise NotFound("No such CalDAV source.")
    # The app-wide CSRFProtect has checked the token.
    read = request.form.getlist("calendars_read")
    written = request.form.get("calendar_written", "")
    try:
        caldav_connect.choose_calendars(session, current_settings(), source, read, written)
    except ValidationFailed as error:
        return _render_source(source_id, error, (read, written))
    flash("Saved which calendars calsync reads and where follow-ups go.")
    return redirect(url_for("pages.source", source_id=source_id))


@bp.post("/sources/<int:source_id>/sync")
@login_required
def sync_now(source_id: int) -> Response:
    source = sources_service.sync_now(get_session(), current_user, source_id)
    if source.status.paused:  # the sync skips it: say why rather than "syncing"
        flash(f"“{source.name}” can't be synced until it is mended: "
              f"{source.last_error or 'it is paused.'}")
    else:
        flash(f"Syncing “{source.name}” now.")
    return redirect(url_for("pages.source", source_id=source.id))


@bp.post("/sources/<int:source_id>/delete")
@login_required
def delete_source(source_id: int) -> Response:
    session = get_session()
    source = sources_service.get_source(session, current_user, source_id)
    name = source.name
    connections.remove_source(session, current_settings(), source)
    flash(f"Removed “{name}”.")
    return redirect(url_for("pages.sources"))

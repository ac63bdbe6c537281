"""The calendar picker of an account of several calendars (Google, Microsoft 365): which
are read and which receives follow-ups; each provider's blueprint routes its sources here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from calsync.db import get_session
from calsync.errors import ValidationFailed
from calsync.services import sources
from calsync.web import current_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from calsync.config import Settings
    from calsync.models import Source


class Calendars(Protocol):
    """What a provider's connections service offers the picker (the API's PATCH calls the
    same `choose_calendars`)."""

    def calendar_choices(self, session: Session, settings: Settings,
                         source: Source) -> list[dict[str, Any]]: ...

    def choose_calendars(self, session: Session, settings: Settings, source: Source,
                         read: list[str] | None, written: str | None) -> None: ...


def picker(source: Source, service: Calendars, action: str, provider: str,
           main: str) -> Response | tuple[str, int]:
    """GET shows the account's calendars with the current choice; POST saves a choice (the
    app-wide CSRFProtect has checked the token) or shows the form again with the refusal.
    `action` is the form's address, `provider` the account's kind ("Google"), `main` what
    it calls the account's own calendar ("primary")."""
    session, settings = get_session(), current_settings()
    error: ValidationFailed | None = None
    if request.method == "POST":
        try:
            service.choose_calendars(session, settings, source,
                                     request.form.getlist("calendars_read"),
                                     request.form.get("calendar_written", ""))
        except ValidationFailed as failed:
            error = failed
        else:
            flash("Saved which calendars calsync reads and where follow-ups go.")
            return redirect(url_for("pages.source", source_id=source.id))
    choices = service.calendar_choices(session, settings, source)
    options = source.options or {}
    # A refused choice is shown as it was made, so the person corrects it, not redoes it.
    read = set(request.form.getlist("calendars_read")) if error else set(
        options.get("calendars_read") or [])
    written = request.form.get("calendar_written") if error else options.get("calendar_written")
    return render_template("calendar_picker.html", source=source, choices=choices, read=read,
                           written=written, error=error, action=action, provider=provider,
                           main=main, paused=sources.awaits_calendars(source)
                           ), 422 if error else 200

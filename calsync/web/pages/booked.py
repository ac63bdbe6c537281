"""Booked meetings on the pages: the inbox's notice that a meeting booked with a deal's
counterpart covers a planned follow-up, with its undo.

The notices are a template global, read only where a template includes them
(`_booked.html`), so the pages around them pass nothing extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from calsync.db import get_session
from calsync.errors import ValidationFailed
from calsync.services import booked
from calsync.web.pages import bp
from calsync.web.pages.display import when

if TYPE_CHECKING:
    from calsync.services.booked import BookedNotice


@bp.app_template_global("booked_notices")
def booked_notices() -> list[BookedNotice]:
    """The follow-ups booked meetings covered lately, for the signed-in user."""
    if not current_user.is_authenticated:
        return []
    return booked.booked_notices(get_session(), current_user)


@bp.post("/followups/<int:followup_id>/unbook")
@login_required
def unbook(followup_id: int) -> Response:
    """Undo: the follow-up is planned again (the app-wide CSRF check ran before this)."""
    try:
        followup = booked.unbook(get_session(), current_user, followup_id)
    except ValidationFailed as error:
        flash(error.message.capitalize(), "error")
    else:
        flash(f"“{followup.summary}” is planned again for {when(followup.start)}.")
    return redirect(url_for("pages.inbox"))

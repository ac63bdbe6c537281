"""The daily coach's page: today's and missed follow-ups (why missed, one-click; moved in
one step), prompts waiting, deals to plan or close, and the last 7 days' record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, HiddenField, TextAreaField, TimeField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from calsync.db import get_session
from calsync.domain.vocabulary import MissedReason
from calsync.errors import ValidationFailed
from calsync.services import coach as coach_service
from calsync.web import current_settings
from calsync.web.pages import bp
from calsync.web.pages.display import combine, input_date, input_time, user_zone, when

if TYPE_CHECKING:
    from calsync.models import User


class ReasonForm(FlaskForm):
    reason = HiddenField(validators=[DataRequired(), AnyOf(coach_service.REASONS)])
    note = TextAreaField("Note", validators=[Optional(),
                                             Length(max=coach_service.MAX_MISSED_NOTE)])


class RescheduleForm(FlaskForm):
    date = DateField("New date", validators=[DataRequired("Give a date.")])
    time = TimeField("Time", validators=[DataRequired("Give a time.")])


@bp.get("/coach")
@login_required
def coach() -> str:
    settings, user = current_settings(), current_user
    said = coach_service.coaching_for(get_session(), settings, user)
    slot = coach_service.reschedule_slot(settings, user)
    return render_template(
        "coach.html", said=said, reasons=list(MissedReason), other=MissedReason.OTHER,
        slot_date=input_date(slot), slot_time=input_time(slot))


@bp.post("/coach/followups/<int:followup_id>/reason")
@login_required
def missed_reason(followup_id: int) -> Response:
    user: User = current_user
    form = ReasonForm()
    if not form.validate():
        flash("Choose one of the reasons.", "error")
        return redirect(url_for("pages.coach"))
    try:
        followup = coach_service.record_missed_reason(get_session(), user, followup_id,
                                                      form.reason.data or "",
                                                      form.note.data or "")
    except ValidationFailed as error:
        flash(error.message.capitalize(), "error")
        return redirect(url_for("pages.coach"))
    assert followup.missed_reason is not None  # just recorded
    flash(f"{followup.summary}: noted, “{followup.missed_reason.label}”.")
    return redirect(url_for("pages.coach"))


@bp.post("/coach/followups/<int:followup_id>/reschedule")
@login_required
def reschedule(followup_id: int) -> Response:
    user: User = current_user
    form = RescheduleForm()
    if not form.validate() or form.date.data is None or form.time.data is None:
        flash("To reschedule, give both a date and a time.", "error")
        return redirect(url_for("pages.coach"))
    start = combine(form.date.data, form.time.data, user_zone())
    try:
        planned = coach_service.reschedule_missed(get_session(), user, followup_id, start)
    except ValidationFailed as error:
        flash(error.message.capitalize(), "error")
        return redirect(url_for("pages.coach"))
    flash(f"{planned.summary}: moved to {when(planned.start)}.")
    return redirect(url_for("pages.coach"))

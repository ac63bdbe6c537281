"""The pages' forms: each a FlaskForm, so every POST is checked for its CSRF token.

Field names are what the templates post; the services validate meaning again.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)

# types-WTForms 3.2 lacks SelectChoice, which WTForms 3.3 has.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from calsync.domain.cadence import DAY_NAMES
from calsync.domain.vocabulary import Channel, EmailPrompts, NoReason, Outcome
from calsync.services.answers import MAX_NOTE

CHANNEL_CHOICES = [SelectChoice(channel, channel.label) for channel in Channel]
REASON_CHOICES = [SelectChoice("", "Reason…")] + [
    SelectChoice(reason, reason.label) for reason in NoReason]
EMAIL_PROMPTS_CHOICES = [SelectChoice(mode, mode.label) for mode in EmailPrompts]
HOUR_CHOICES = [SelectChoice(hour, f"{hour:02d}:00") for hour in range(24)]
SNOOZE_CHOICES = ("hour", "tomorrow", "next_week")
RETURN_TO = ("inbox", "prompt")
# What the inbox's selection can be: not a sales meeting, or snoozed (SNOOZE_CHOICES' days).
BULK_ACTIONS = ("dismiss", "tomorrow", "next_week")


class ActionForm(FlaskForm):
    """A button with nothing but its CSRF token: sync now, delete, rotate, add the sample.

    Their routes read nothing from the form; the app-wide CSRFProtect checks the token
    before any view runs.
    """


class AnswerForm(FlaskForm):
    outcome = StringField(validators=[DataRequired("Choose yes, no or next step."),
                                      AnyOf(tuple(Outcome), "Choose yes, no or next step.")])
    no_reason = SelectField("Why not?", choices=REASON_CHOICES, default="",
                            validators=[Optional()])
    summary = StringField("What", validators=[Optional(), Length(max=500)])
    date = DateField("Date", validators=[Optional()])
    time = TimeField("Time", validators=[Optional()])
    duration = IntegerField("Minutes", default=30,
                            validators=[Optional(), NumberRange(5, 24 * 60)])
    channel = SelectField("Channel", choices=CHANNEL_CHOICES, default=Channel.EMAIL)
    note = TextAreaField("Note", validators=[Optional(), Length(max=MAX_NOTE)])
    return_to = HiddenField(default="inbox", validators=[Optional(), AnyOf(RETURN_TO)])
    # The prompt as the page showed it (answers.version): an answer recorded since is only
    # replaced when the user says so. Left out (an older page), the answer replaces as before.
    version = HiddenField(validators=[Optional(), Length(max=100)])


# Snooze, "not a sales meeting" and "it didn't happen" post the whole prompt form (their
# buttons carry a formaction), so the note typed into it is kept with the prompt.
class SnoozeForm(FlaskForm):
    until = StringField(validators=[DataRequired(), AnyOf(SNOOZE_CHOICES)])
    note = TextAreaField(validators=[Optional(), Length(max=MAX_NOTE)])
    return_to = HiddenField(default="inbox", validators=[Optional(), AnyOf(RETURN_TO)])


class DismissForm(FlaskForm):
    skip_series = BooleanField("Skip all future occurrences of this series")
    note = TextAreaField(validators=[Optional(), Length(max=MAX_NOTE)])
    return_to = HiddenField(default="inbox", validators=[Optional(), AnyOf(RETURN_TO)])


class DidntHappenForm(FlaskForm):
    # Not date/time/duration: those are the next step's, posted alongside.
    action = StringField(default="skip", validators=[Optional(), AnyOf(("skip", "reschedule"))])
    reschedule_date = DateField("New date", validators=[Optional()])
    reschedule_time = TimeField("New time", validators=[Optional()])
    reschedule_duration = IntegerField("Minutes", default=30,
                                       validators=[Optional(), NumberRange(5, 1440)])
    note = TextAreaField(validators=[Optional(), Length(max=MAX_NOTE)])
    return_to = HiddenField(default="inbox", validators=[Optional(), AnyOf(RETURN_TO)])


class BulkForm(FlaskForm):
    """The inbox's selection put away at once: not a sales meeting, or snoozed."""

    prompt_ids = SelectMultipleField(coerce=int, choices=[], validate_choice=False)
    action = StringField(validators=[DataRequired("Choose what to do with them."),
                                     AnyOf(BULK_ACTIONS, "Choose what to do with them.")])
    q = HiddenField(validators=[Optional(), Length(max=200)])  # the search to return to


class MoveForm(FlaskForm):
    deal_id = SelectField("Deal", coerce=int, choices=[], validate_choice=False)
    new_deal = StringField("or a new deal named", validators=[Optional(), Length(max=200)])


class RenameDealForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the deal a name."),
                                           Length(max=200)])


class AddUrlForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    url = StringField("Calendar address (ICS)", validators=[
        DataRequired("Paste the calendar's address."), Length(max=2048)])


class UploadForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    file = FileField(".ics file", validators=[FileRequired("Choose an .ics file.")])


class TimezoneForm(FlaskForm):
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])


class RulesForm(FlaskForm):
    internal_domains = TextAreaField("Internal domains", validators=[Length(max=5000)])
    skip_keywords = TextAreaField("Skip keywords", validators=[Length(max=5000)])


class CadenceForm(FlaskForm):
    gaps_days = StringField("Days between touches", validators=[DataRequired(), Length(max=200)])
    usual_low = IntegerField("Usual touches, from", validators=[DataRequired(), NumberRange(1, 50)])
    usual_high = IntegerField("to", validators=[DataRequired(), NumberRange(1, 50)])
    suggest_close_after = IntegerField("Suggest closing after", validators=[
        DataRequired(), NumberRange(1, 100)])
    min_gap_days = IntegerField("Warn when closer than (days)", validators=[
        Optional(), NumberRange(0, 365)])
    usual_hour = IntegerField("Usual hour", validators=[Optional(), NumberRange(0, 23)])
    usual_minute = IntegerField("minute", validators=[Optional(), NumberRange(0, 59)])
    working_days = SelectMultipleField(
        "Working days", choices=[SelectChoice(d, d.capitalize()) for d in DAY_NAMES],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    default_channel = SelectField("Channel when none was promised", choices=CHANNEL_CHOICES)
    default_duration_minutes = IntegerField("Follow-up length (minutes)", validators=[
        DataRequired(), NumberRange(1, 1440)])


class NotificationsForm(FlaskForm):
    email_prompts = SelectField("Prompt emails", choices=EMAIL_PROMPTS_CHOICES)
    summary_hour = SelectField("Summary at", coerce=int, choices=HOUR_CHOICES)
    # Text, not TimeField: the service reads "HH:MM" for the page and the API alike.
    quiet_start = StringField("Quiet from", validators=[DataRequired()])
    quiet_end = StringField("until", validators=[DataRequired()])
    digest = BooleanField("Send me the daily coach email on working days")
    digest_hour = SelectField("Coach email at", coerce=int, choices=HOUR_CHOICES)


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=100)])

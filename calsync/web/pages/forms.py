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

from calsync.domain.cadence import AFTER_SALE, DAY_NAMES
from calsync.domain.vocabulary import Channel, EmailPrompts, NoReason, Outcome, WebhookEvent
from calsync.services.answers import MAX_NOTE

CHANNEL_CHOICES = [SelectChoice(channel, channel.label) for channel in Channel]
REASON_CHOICES = [SelectChoice("", "Reason…")] + [
    SelectChoice(reason, reason.label) for reason in NoReason]
EMAIL_PROMPTS_CHOICES = [SelectChoice(mode, mode.label) for mode in EmailPrompts]
HOUR_CHOICES = [SelectChoice(hour, f"{hour:02d}:00") for hour in range(24)]
SNOOZE_CHOICES = ("hour", "tomorrow", "next_week")
RETURN_TO = ("inbox", "prompt")
MINUTES = "Give the minutes as a whole number between 5 and 1440."
NOTE = f"Keep the note to {MAX_NOTE} characters or fewer."
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
    summary = StringField("What", validators=[
        Optional(), Length(max=500, message="Keep the next step to 500 characters or fewer.")])
    date = DateField("Date", validators=[Optional()])
    time = TimeField("Time", validators=[Optional()])
    duration = IntegerField("Minutes", default=30,
                            validators=[Optional(), NumberRange(5, 24 * 60, MINUTES)])
    channel = SelectField("Channel", choices=CHANNEL_CHOICES, default=Channel.EMAIL)
    # A deadline promised to the client (optional): the next step becomes a promise.
    promise_date = DateField("Promised to them by", validators=[Optional()])
    promise_time = TimeField("Time", validators=[Optional()])
    value_note = StringField("What will you bring them?", validators=[
        Optional(), Length(max=500, message="Keep it to 500 characters or fewer.")])
    # With a yes, the after-sale touches ticked; with a no for bad timing, a revisit. The
    # "shown" marks say the form offered them, so nothing ticked means none (a post
    # without them, from an older page, gets the user's cadence).
    after_sale = SelectMultipleField(choices=[SelectChoice(kind.value, kind.label)
                                              for kind in AFTER_SALE],
                                     validators=[Optional()])
    after_sale_shown = HiddenField(validators=[Optional()])
    revisit = BooleanField("Plan a revisit")
    revisit_shown = HiddenField(validators=[Optional()])
    note = TextAreaField("Note", validators=[
        Optional(), Length(max=MAX_NOTE, message=NOTE)])
    return_to = HiddenField(default="inbox", validators=[Optional(), AnyOf(RETURN_TO)])
    # The prompt as the page showed it (answers.version): an answer recorded since is only
    # replaced when the user says so. Left out (an older page), the answer replaces as before.
    version = HiddenField(validators=[Optional(), Length(max=100)])


# Snooze, "not a sales meeting" and "it didn't happen" post the whole prompt form (their
# buttons carry a formaction), so the note typed into it is kept with the prompt.
class SnoozeForm(FlaskForm):
    until = StringField(validators=[DataRequired("Choose when to be asked again."),
                                    AnyOf(SNOOZE_CHOICES, "Choose when to be asked again.")])
    note = TextAreaField(validators=[Optional(), Length(max=MAX_NOTE, message=NOTE)])
    return_to = HiddenField(default="inbox", validators=[Optional(), AnyOf(RETURN_TO)])


class DismissForm(FlaskForm):
    skip_series = BooleanField("Skip all future occurrences of this series")
    note = TextAreaField(validators=[Optional(), Length(max=MAX_NOTE, message=NOTE)])
    return_to = HiddenField(default="inbox", validators=[Optional(), AnyOf(RETURN_TO)])


class DidntHappenForm(FlaskForm):
    # Not date/time/duration: those are the next step's, posted alongside.
    action = StringField(default="skip", validators=[Optional(), AnyOf(("skip", "reschedule"))])
    reschedule_date = DateField("New date", validators=[Optional()])
    reschedule_time = TimeField("New time", validators=[Optional()])
    reschedule_duration = IntegerField("Minutes", default=30,
                                       validators=[Optional(), NumberRange(5, 1440, MINUTES)])
    note = TextAreaField(validators=[Optional(), Length(max=MAX_NOTE, message=NOTE)])
    return_to = HiddenField(default="inbox", validators=[Optional(), AnyOf(RETURN_TO)])


class BulkForm(FlaskForm):
    """The inbox's selection put away at once: not a sales meeting, or snoozed."""

    prompt_ids = SelectMultipleField(coerce=int, choices=[], validate_choice=False)
    action = StringField(validators=[DataRequired("Choose what to do with them."),
                                     AnyOf(BULK_ACTIONS, "Choose what to do with them.")])
    q = HiddenField(validators=[Optional(), Length(max=200)])  # the search to return to


class MoveForm(FlaskForm):
    deal_id = SelectField("Deal", coerce=int, choices=[], validate_choice=False)
    new_deal = StringField("or a new deal named", validators=[
        Optional(), Length(max=200, message="Keep the deal's name to 200 characters or fewer.")])


class RenameDealForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the deal a name."),
                                           Length(max=200, message="Keep the deal's name to "
                                                  "200 characters or fewer.")])


class AddUrlForm(FlaskForm):
    name = StringField("Name", validators=[
        Optional(), Length(max=200, message="Keep the name to 200 characters or fewer.")])
    url = StringField("Calendar address (ICS)", validators=[
        DataRequired("Paste the calendar's address."),
        Length(max=2048, message="That address is too long: 2048 characters at most.")])


class UploadForm(FlaskForm):
    name = StringField("Name", validators=[
        Optional(), Length(max=200, message="Keep the name to 200 characters or fewer.")])
    file = FileField(".ics file", validators=[FileRequired("Choose an .ics file.")])


class TimezoneForm(FlaskForm):
    timezone = StringField("Time zone", validators=[
        DataRequired("Choose your time zone."), Length(max=64, message="Choose your time zone.")])


class RulesForm(FlaskForm):
    internal_domains = TextAreaField("Internal domains", validators=[
        Length(max=5000, message="Keep the internal domains to 5000 characters or fewer.")])
    skip_keywords = TextAreaField("Skip keywords", validators=[
        Length(max=5000, message="Keep the skip words to 5000 characters or fewer.")])


# The cadence's numbers: what to type, in the words of the page.
LOW = "Give the fewest usual touches as a whole number from 1 to 50."
HIGH = "Give the most usual touches as a whole number from 1 to 50."
CLOSE = "Give the touches after which to suggest closing as a whole number from 1 to 100."
GAP = "Give the days for the warning as a whole number from 0 to 365."
HOUR = "Give the usual hour as a whole number from 0 to 23."
MINUTE = "Give the usual minute as a whole number from 0 to 59."
LENGTH = "Give a follow-up's length in minutes as a whole number from 1 to 1440."


AFTER_DAYS = "Give the days as a whole number from 1 to 730."


class CadenceForm(FlaskForm):
    gaps_days = StringField("Days between touches", validators=[
        DataRequired("Give the days between touches, e.g. 2, 5, 7."),
        Length(max=200, message="Keep the days between touches to 200 characters or fewer.")])
    usual_low = IntegerField("Usual touches, from", validators=[
        DataRequired(LOW), NumberRange(1, 50, LOW)])
    usual_high = IntegerField("to", validators=[
        DataRequired(HIGH), NumberRange(1, 50, HIGH)])
    suggest_close_after = IntegerField("Suggest closing after", validators=[
        DataRequired(CLOSE), NumberRange(1, 100, CLOSE)])
    min_gap_days = IntegerField("Warn when closer than (days)", validators=[
        Optional(), NumberRange(0, 365, GAP)])
    usual_hour = IntegerField("Usual hour",
                              validators=[Optional(), NumberRange(0, 23, HOUR)])
    usual_minute = IntegerField("minute",
                                validators=[Optional(), NumberRange(0, 59, MINUTE)])
    working_days = SelectMultipleField(
        "Working days", choices=[SelectChoice(d, d.capitalize()) for d in DAY_NAMES],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    default_channel = SelectField("Channel when none was promised", choices=CHANNEL_CHOICES)
    default_duration_minutes = IntegerField("Follow-up length (minutes)", validators=[
        DataRequired(LENGTH), NumberRange(1, 1440, LENGTH)])
    # Promises and the touches after a yes or a no (issue 11); empty keeps the defaults.
    promise_margin_days = IntegerField("Work on a promise ahead by (working days)", validators=[
        Optional(), NumberRange(0, 30, "Work on a promise 0 to 30 working days before it is due.")])
    follow_through_days = IntegerField("Follow through after (working days)", validators=[
        Optional(), NumberRange(1, 30, "Follow through 1 to 30 working days after delivering.")])
    after_sale = SelectMultipleField(
        "After a yes, offer ticked",
        choices=[SelectChoice(kind.value, kind.label) for kind in AFTER_SALE],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    check_in_days = IntegerField("Check-in after (days)", validators=[
        Optional(), NumberRange(1, 730, AFTER_DAYS)])
    referral_days = IntegerField("Referral ask after (days)", validators=[
        Optional(), NumberRange(1, 730, AFTER_DAYS)])
    upsell_days = IntegerField("Up-sell review after (days)", validators=[
        Optional(), NumberRange(1, 730, AFTER_DAYS)])
    revisit_days = IntegerField("Revisit a 'bad timing' no after (days)", validators=[
        Optional(), NumberRange(1, 730, AFTER_DAYS)])


class NotificationsForm(FlaskForm):
    email_prompts = SelectField("Prompt emails", choices=EMAIL_PROMPTS_CHOICES)
    summary_hour = SelectField("Summary at", coerce=int, choices=HOUR_CHOICES)
    # Text, not TimeField: the service reads "HH:MM" for the page and the API alike.
    quiet_start = StringField("Quiet from", validators=[
        DataRequired("Give the time your quiet hours start, e.g. 20:00.")])
    quiet_end = StringField("until", validators=[
        DataRequired("Give the time your quiet hours end, e.g. 07:00.")])
    digest = BooleanField("Send me the daily coach email on working days")
    digest_hour = SelectField("Coach email at", coerce=int, choices=HOUR_CHOICES)


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[
        Optional(), Length(max=100, message="Keep the name to 100 characters or fewer.")])


class WebhookForm(FlaskForm):
    url = StringField("Address", validators=[
        DataRequired("Give the address calsync should send events to."),
        Length(max=2048, message="Keep the address to 2048 characters or fewer.")])
    # Checked by services.webhooks, which names an unknown one the same way for the API.
    events = SelectMultipleField(
        "Events", choices=[SelectChoice(event, event.label) for event in WebhookEvent],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        validate_choice=False)

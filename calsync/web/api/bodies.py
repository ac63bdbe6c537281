"""What the API accepts: request bodies and query parameters as pydantic models.

Requests are validated by these very models and the OpenAPI document is generated from
them, so a body the document calls invalid is refused with 422 naming the field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from calsync.domain import deals as deal_rules
from calsync.services.answers import MAX_NOTE, MAX_VALUE_NOTE
from calsync.services.coach import MAX_MISSED_NOTE
from calsync.services.notifications import TIME_PATTERN
from calsync.services.prompts import PUT_AWAY_MAX
from calsync.web.api.registry import MAX_ROW_ID
from calsync.web.api.schemas import (
    Channel,
    DealSort,
    DealStatus,
    EmailPrompts,
    FollowUpStatus,
    MissedReason,
    NoReason,
    Outcome,
    PromptStatus,
)

# "+01:00" in a query string arrives as " 01:00" unless the client encoded the plus.
_UNENCODED_PLUS = re.compile(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")

LOCAL_TIME = ("A time without an offset is read in the user's time zone "
              "(see GET /api/v1/me).")


class Body(BaseModel):
    # Strict: JSON types as the document states them ("30" is not a number); unknown
    # fields are refused so a misspelt one is reported instead of silently ignored.
    model_config = ConfigDict(extra="forbid", strict=True)


class SourceIn(Body):
    """A calendar to read: an ICS feed's `url`, an uploaded calendar's text in `ics`, or a
    CalDAV account (`kind` caldav) by `url`, `username` and `password`."""

    kind: str = Field("ics", description="The provider, e.g. ics or caldav.")
    name: str = Field("", max_length=200)
    url: str | None = Field(None, description="http(s):// or webcal:// address of the feed; "
                                              "for caldav the server, account or calendar.")
    ics: str | None = Field(None, min_length=1,
                            description="The text of an .ics file, instead of a url.")
    username: str | None = Field(None, max_length=320, description="caldav only.")
    password: str | None = Field(None, max_length=1000,
                                 description="caldav only: often an app-specific password.")


class SourcePatchIn(Body):
    """A Google or CalDAV source's calendars: give either field or both; the other keeps
    its value."""

    calendars_read: list[str] | None = Field(
        None, min_length=1, description="Ids of the account's calendars to read meetings from.")
    calendar_written: str | None = Field(
        None, description="Id of the calendar that receives follow-ups; one of those read.")


class NextStepIn(Body):
    summary: str = Field(min_length=1, max_length=500, description="What the next step is.")
    start: datetime = Field(description="When it happens. " + LOCAL_TIME)
    duration_minutes: int | None = Field(
        None, ge=5, le=1440, description="Default: the cadence's usual length (30).")
    channel: Channel | None = Field(
        None, description="Default: the channel the cadence suggests (the one promised).")
    promise_due: datetime | None = Field(None, description=(
        "A deadline promised to the client (\"pricing by Friday 16:00\"): the follow-up "
        "becomes a promise, planned the cadence's promise_margin_days working days ahead of "
        "it (or at `start` when that is earlier). " + LOCAL_TIME))
    value_note: str = Field("", max_length=MAX_VALUE_NOTE, description=(
        "What will you bring them? Shown in the follow-up's calendar event and feed entry."))


class AnswerIn(Body):
    """How it went: `next_step` is required with outcome next_step, and refused otherwise."""

    outcome: Outcome
    note: str = Field("", max_length=MAX_NOTE)
    no_reason: NoReason | None = Field(None, description="Only kept with outcome no.")
    next_step: NextStepIn | None = None
    after_sale: list[Literal["check_in", "referral", "upsell"]] | None = Field(
        None, description=(
            "With outcome yes: the after-sale touches to plan (a satisfaction check-in, a "
            "referral ask, an up-sell review; when is the cadence's). Absent: those your "
            "cadence ticks (none unless changed in settings); []: none. Refused with "
            "any other outcome, and on a prompt of an after-sale touch (a yes there plans "
            "nothing more)."))
    revisit: bool = Field(True, description=(
        "With outcome no and no_reason bad_timing: plan a revisit (the cadence's "
        "revisit_days later). false: none."))
    replace: bool = Field(False, description=(
        "Change an answer already recorded (or a prompt already dismissed). Without it, such "
        "a prompt is refused with 409 prompt_already_answered, so an answer sent from a stale "
        "view never silently overwrites a newer one."))


class DeliveredIn(Body):
    at: datetime | None = Field(None, description=(
        "When it was delivered; default now, never in the future. " + LOCAL_TIME))


class SnoozeIn(Body):
    until: datetime = Field(description="When to ask again; in the future. " + LOCAL_TIME)
    note: str | None = Field(None, max_length=MAX_NOTE, description=(
        "A note typed so far, kept with the prompt for when it comes back; null keeps the "
        "stored one."))


class DismissIn(Body):
    skip_series: bool = Field(False, description="Never ask about this recurring series again.")
    note: str | None = Field(None, max_length=MAX_NOTE, description=(
        "A note kept with the prompt; null keeps the stored one."))


class BulkIn(Body):
    """Several prompts put away at once, as the inbox's selection."""

    prompt_ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(
        min_length=1, max_length=PUT_AWAY_MAX, description=(
            "The prompts; those answered or put away already, or not yours, are left alone."))
    action: Literal["dismiss", "snooze"] = Field(description=(
        "dismiss: not a sales meeting (no touch); snooze: ask again at `until`."))
    until: datetime | None = Field(None, description=(
        "With snooze, when to ask again; in the future. " + LOCAL_TIME))


class DidntHappenIn(Body):
    reschedule: NextStepIn | None = Field(None, description="The meeting's new time, if any.")
    note: str | None = Field(None, max_length=MAX_NOTE, description=(
        "A note kept with the prompt (and the new time); null keeps the stored one."))


class NotificationsIn(Body):
    """Any of your notification choices; a field left out (or null) keeps its value."""

    email_prompts: EmailPrompts | None = Field(None, description="off, each or summary.")
    summary_hour: int | None = Field(None, ge=0, le=23, description="0-23, your time zone.")
    quiet_start: str | None = Field(None, pattern=TIME_PATTERN,
                                    description="HH:MM, your time zone; not quiet_end.")
    quiet_end: str | None = Field(None, pattern=TIME_PATTERN,
                                  description="HH:MM, your time zone; not quiet_start.")
    digest: bool | None = None
    digest_hour: int | None = Field(None, ge=0, le=23, description="0-23, your time zone.")


class MissedReasonIn(Body):
    """Why a follow-up was missed; `other` needs a note."""

    reason: MissedReason
    note: str = Field("", max_length=MAX_MISSED_NOTE)


class RescheduleIn(Body):
    start: datetime = Field(description="The missed follow-up's new time, in the future. "
                                        + LOCAL_TIME)


class MoveToDealIn(Body):
    """Give exactly one: an existing deal's `deal_id`, or a `name` for a new deal."""

    deal_id: int | None = None
    name: str | None = Field(None, min_length=1, max_length=200)


class Page(BaseModel):
    # Query strings are text: "50" is the number 50 here. Unknown parameters are ignored.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    limit: int = Field(100, ge=1, le=1000, description="Items per page.")
    cursor: str | None = Field(None, description="The next_cursor of the previous page.")


class MeetingQuery(Page):
    from_: datetime | None = Field(None, alias="from", description=(
        "Meetings starting at or after this date or date-time. " + LOCAL_TIME))
    to: datetime | None = Field(None, description=(
        "Meetings starting before this date or date-time. " + LOCAL_TIME))
    source_id: int | None = None

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _restore_plus(cls, value: Any) -> Any:
        return _UNENCODED_PLUS.sub(r"\1+\2", value) if isinstance(value, str) else value


class PromptQuery(Page):
    status: PromptStatus | None = None
    q: str = Field("", max_length=200, description=(
        "Only prompts whose meeting or follow-up title, an attendee's name or email, or the "
        "deal's name holds every word given, ignoring case (as the inbox's search). Give it "
        "again with the cursor of the next page."))


class DealQuery(Page):
    status: DealStatus | None = None
    q: str = Field("", max_length=200, description=(
        "Only deals whose name, or a meeting's title or attendee (name or email), holds every "
        "word given, ignoring case (as the deals page's search). Give it again with the "
        "cursor of the next page."))
    sort: DealSort = Field(deal_rules.DealSort.NEWEST, description=(
        "next: the next follow-up's time, overdue first, then open deals with nothing "
        "planned, then closed ones; last_touch: latest first; touches: most first; status: "
        "open, won, lost; newest: the deal made last first. Give it again with the cursor."))
    cold: bool = Field(False, description=(
        "true: only the open deals gone cold, longest cold first (the deals page's Going "
        "cold tab); `sort` does not apply, and `q` or a `status` other than open is refused "
        "with it. Give it again with the cursor."))


class DealPatchIn(Body):
    """A deal's new name."""

    name: str = Field(min_length=1, max_length=200, description="The deal's name.")


class FollowUpQuery(Page):
    status: FollowUpStatus | None = None


class WebhookIn(Body):
    """A webhook to create: where calsync POSTs, and which events."""

    url: str = Field(max_length=2048, description="https:// (or http://) address on the "
                                                  "public internet.")
    events: list[str] = Field(max_length=20, description=(
        "Any of outcome.recorded, followup.created, followup.updated, followup.cancelled, "
        "deal.won, deal.lost, deal.reopened, promise.delivered."))

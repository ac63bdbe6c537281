"""The API's response shapes as pydantic models: responses are built through them, and the
OpenAPI document is generated from them, so the two cannot drift apart. States and codes are
calsync.domain.vocabulary's, as the API reads and documents them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import CoreSchema, core_schema

from calsync.domain import deals, vocabulary
from calsync.domain.promises import PromisesKept


class _Values:
    """A vocabulary as the API reads and documents it: the Literal of its values, listed in
    place in the document (a plain enum would be a shared schema the fields refer to), and
    the member once validated. JSON has no members, so this holds in strict bodies too."""

    def __get_pydantic_core_schema__(self, source: type[StrEnum],
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        # A Literal built at run time: pydantic reads it, a type checker cannot.
        values = Literal[tuple(member.value for member in source)]  # type: ignore[valid-type]
        return core_schema.no_info_after_validator_function(source, handler.generate_schema(values))


_VALUES = _Values()
SourceStatus = Annotated[vocabulary.SourceStatus, _VALUES]
MeetingStatus = Annotated[vocabulary.MeetingStatus, _VALUES]
PromptStatus = Annotated[vocabulary.PromptStatus, _VALUES]
DismissReason = Annotated[vocabulary.DismissReason, _VALUES]
Outcome = Annotated[vocabulary.Outcome, _VALUES]
NoReason = Annotated[vocabulary.NoReason, _VALUES]
DealStatus = Annotated[vocabulary.DealStatus, _VALUES]
Channel = Annotated[vocabulary.Channel, _VALUES]
FollowUpStatus = Annotated[vocabulary.FollowUpStatus, _VALUES]
CancelReason = Annotated[vocabulary.CancelReason, _VALUES]
WriteStatus = Annotated[vocabulary.WriteStatus, _VALUES]
TimelineKind = Annotated[vocabulary.TimelineKind, _VALUES]
EmailPrompts = Annotated[vocabulary.EmailPrompts, _VALUES]
MissedReason = Annotated[vocabulary.MissedReason, _VALUES]
FollowUpKind = Annotated[vocabulary.FollowUpKind, _VALUES]
PromiseTiming = Annotated[vocabulary.PromiseTiming, _VALUES]
DealSort = Annotated[deals.DealSort, _VALUES]


def utc_iso(moment: datetime) -> str:
    """Every time the API answers with is in UTC, written with an explicit "+00:00"."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _moment_or_day(value: datetime | date) -> str:
    return utc_iso(value) if isinstance(value, datetime) else value.isoformat()


Time = Annotated[
    datetime,
    PlainSerializer(utc_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "description":
                    "ISO 8601 in UTC with its offset, e.g. 2025-03-04T09:00:00+00:00"}),
]
TimeOrDay = Annotated[
    datetime | date,
    PlainSerializer(_moment_or_day, return_type=str),
    WithJsonSchema({"type": "string", "description":
                    "ISO 8601 date-time in UTC with its offset; a date (YYYY-MM-DD) when all_day"}),
]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(Out):
    code: str
    message: str
    field: str | None = None


class ErrorOut(Out):
    """Every error the API answers with."""

    error: ErrorBody


class SourceOut(Out):
    id: int
    kind: str
    name: str
    url: str | None  # null for an uploaded calendar
    status: SourceStatus
    last_synced_at: Time | None
    last_error: str | None
    warnings: list[str]
    next_sync_at: Time | None  # null for an upload: never fetched again
    # Accounts of several calendars only (Google, CalDAV, Microsoft; null for a feed or
    # an upload): the calendars read, and the one that receives follow-ups.
    calendars_read: list[str] | None
    calendar_written: str | None


class AttendeeOut(Out):
    email: str
    name: str
    response: str


class MeetingOut(Out):
    """A meeting read from a source. In a prompt about a follow-up, the follow-up in
    meeting form: `id` and `source_id` null, `followup_id` set, no attendees."""

    id: int | None
    source_id: int | None
    followup_id: int | None = None
    title: str
    start: TimeOrDay
    end: TimeOrDay
    all_day: bool
    attendees: list[AttendeeOut]
    # Attendees the source listed beyond `attendees` (calsync stores a bounded number).
    more_attendees: int = 0
    status: MeetingStatus


class DealRef(Out):
    id: int
    name: str
    touches: int  # answered touches of the deal
    touch_number: int  # the number of this prompt's touch within the deal


class SuggestionOut(Out):
    start: Time
    channel: Channel
    duration_minutes: int
    touch_number: int
    suggest_close: bool
    message: str


class OutcomeOut(Out):
    outcome: Outcome
    note: str
    no_reason: NoReason | None
    answered_at: Time | None
    followup_id: int | None  # the follow-up this answer planned


class PromptOut(Out):
    id: int
    status: PromptStatus
    touch_at: Time
    meeting: MeetingOut | None  # null once the meeting's source was deleted
    deal: DealRef | None
    suggestion: SuggestionOut | None  # only while pending or snoozed
    outcome: OutcomeOut | None
    snoozed_until: Time | None
    dismiss_reason: DismissReason | None
    note: str  # typed with any answer or action (snooze, dismiss, didn't happen) and kept
    covered_by: int | None  # the later prompt of the deal whose answer covered this one
    kind: FollowUpKind | None = Field(None, description=(
        "A follow-up's prompt: what the follow-up is for (as FollowUpOut.kind; a promise's "
        "prompt asks \"Delivered?\"); null for a meeting's."))
    promise_due: Time | None = Field(None, description=(
        "A promise's prompt: the deadline promised to the client."))


class FollowUpOut(Out):
    id: int
    deal_id: int
    summary: str
    start: Time
    end: Time
    channel: Channel
    note: str
    status: FollowUpStatus
    cancel_reason: CancelReason | None = Field(None, description=(
        "Why calsync cancelled it: booked (a meeting with them was booked before it, "
        "booked_meeting_id); null when it isn't cancelled or a changed answer cancelled it."))
    booked_meeting_id: int | None = Field(None, description=(
        "The booked meeting that took its place as the deal's next touch."))
    # Its event in the user's calendar: pending, written, failed (shown until retried), or
    # not_applicable when no connected calendar receives follow-ups.
    write_status: WriteStatus
    remote_event_id: str | None
    kind: FollowUpKind = Field(description=(
        "What it is for: follow_up (the next touch), promise (working on something promised "
        "by promise_due), follow_through (after delivering), check_in, referral, upsell "
        "(after a yes), revisit (after a no for bad timing)."))
    promise_due: Time | None = Field(None, description="The deadline promised to the client.")
    delivered_at: Time | None = Field(None, description="When the promise was delivered.")
    promise_timing: PromiseTiming | None = Field(None, description=(
        "How the promise was kept against promise_due: early (a day or more ahead, in the "
        "user's zone), on_time, late; null until delivered."))
    value_note: str = Field("", description="What this touch brings them.")


class DeliveryOut(Out):
    """A promise delivered: how it was kept, and the follow-through it planned."""

    followup: FollowUpOut = Field(description="The promise, with delivered_at.")
    timing: PromiseTiming = Field(description=(
        "early (a day or more before promise_due, in the user's zone), on_time or late."))
    follow_through: FollowUpOut = Field(description=(
        "The follow-through touch: make sure they got it, offer to clarify, share something "
        "new, book the next meeting."))
    prompt_id: int | None = Field(description=(
        "The promise's prompt this delivery answered; null when it was not asked yet."))


class PromptActionOut(PromptOut):
    """A prompt after an action, with the follow-up the action planned (if any)."""

    followup: FollowUpOut | None
    # The cadence's spacing warning about that follow-up, and what its time clashes with.
    warning: str | None
    covered: list[int] = Field(default_factory=list, description=(
        "The ids of the deal's older prompts this answer covered (they count as touches and "
        "leave the inbox); POST /prompts/{id}/uncover puts one back."))
    followups: list[FollowUpOut] = Field(default_factory=list, description=(
        "The touches this answer planned besides `followup`: after a yes the after-sale "
        "touches (check_in, referral, upsell), after a no for bad timing a revisit."))


class BulkOut(Out):
    """What putting several prompts away did."""

    changed: int = Field(description="How many prompts were put away (those still waiting).")


class BookedOut(Out):
    """A meeting booked with them, from the user's calendar."""

    meeting_id: int
    title: str
    start: Time
    end: Time


class DealOut(Out):
    id: int
    name: str
    status: DealStatus
    touches: int
    needs_next_touch: bool
    next_followup: FollowUpOut | None
    since: Time | None = Field(description="The first touch; null before any.")
    last_touch: Time | None = Field(description="The latest touch; null before any.")
    overdue: bool = Field(description=(
        "Open, and the next follow-up's time is over with no answer on how it went."))
    cold: bool = Field(False, description=(
        "Open and gone cold: its planned follow-up passed with no answer for 2 working "
        "days, or nothing was planned for the cadence's gap since the last touch. Never "
        "with a touch planned ahead (a follow-up, or a meeting they booked: next_booked), "
        "nor before its first answered touch (a first meeting still waiting for its answer "
        "is in the inbox, not cold)."))
    cold_since: Time | None = Field(None, description="When it went cold; null while warm.")
    next_booked: BookedOut | None = Field(None, description=(
        "A meeting they booked that covered a planned follow-up, still ahead and before any "
        "follow-up planned: the deal's next touch (so not needs_next_touch, not cold). Null "
        "otherwise; next_followup stays the first follow-up still planned."))


class TimelineEntryOut(Out):
    at: Time
    kind: TimelineKind
    prompt: PromptOut | None = None
    followup: FollowUpOut | None = None


class DealDetailOut(DealOut):
    timeline: list[TimelineEntryOut]


class FeedOut(Out):
    url: str
    webcal_url: str


class MeOut(Out):
    id: int
    email: str
    timezone: str


class NotificationsOut(Out):
    """How and when calsync emails you; hours and times are in your time zone."""

    email_prompts: EmailPrompts = Field(description=(
        "off: no prompt emails; each: one email as each meeting's prompt is due; "
        "summary: one email a day at summary_hour."))
    summary_hour: int = Field(description="The hour (0-23) of the daily summary email.")
    quiet_start: str = Field(description="Quiet hours start (HH:MM): prompt emails wait.")
    quiet_end: str = Field(description="Quiet hours end (HH:MM): waiting emails go out.")
    digest: bool = Field(description="The daily coach email, on working days.")
    digest_hour: int = Field(description="The hour (0-23) of the daily coach email.")


class SourceList(Out):
    items: list[SourceOut]
    next_cursor: str | None


class MeetingList(Out):
    items: list[MeetingOut]
    next_cursor: str | None


class PromptList(Out):
    items: list[PromptOut]
    next_cursor: str | None


class DealList(Out):
    items: list[DealOut]
    next_cursor: str | None


class FollowUpList(Out):
    items: list[FollowUpOut]
    next_cursor: str | None


class CoachFollowUpOut(Out):
    """A follow-up as the coach lists it: with its deal's name and why it was missed."""

    id: int
    deal_id: int
    deal_name: str
    summary: str
    start: Time
    end: Time
    missed_reason: MissedReason | None
    missed_note: str
    kind: FollowUpKind
    promise_due: Time | None  # a promise's deadline given to the client


class PromisesKeptOut(Out):
    """Promises delivered, by how they were kept against the deadline given the client."""

    early: int
    on_time: int
    late: int

    @classmethod
    def of(cls, kept: PromisesKept) -> PromisesKeptOut:
        return cls(early=kept.early, on_time=kept.on_time, late=kept.late)


class CoachPromptOut(Out):
    id: int
    title: str
    touch_at: Time


class CoachDealOut(Out):
    id: int
    name: str
    touches: int
    next_touch: Time | None


class CoachColdOut(Out):
    """An open deal gone cold: a follow-up passed without an answer for 2 working days, or
    nothing was planned for the cadence's gap."""

    id: int
    name: str
    cold_since: Time


class WeekRecordOut(Out):
    """The last 7 days: follow-ups done on time (answered within one working day of their
    time), late, and missed, and the reasons given for the late and missed ones."""

    since: Time
    on_time: int
    late: int
    missed: int
    reasons: dict[str, int] = Field(description="Count by reason: no_time, waiting, forgot, "
                                                "not_needed, other.")
    explained: list[CoachFollowUpOut]


class CoachOut(Out):
    """What the daily coach says now."""

    due_today: list[CoachFollowUpOut] = Field(description="Planned for later today.")
    missed: list[CoachFollowUpOut] = Field(
        description="Their time passed and they were not answered; without a reason first.")
    prompts_waiting: list[CoachPromptOut]
    unplanned_deals: list[CoachDealOut] = Field(
        description="Open deals with no next touch that are not (yet) cold.")
    deals_to_close: list[CoachDealOut] = Field(
        description="Open deals past the cadence's suggest_close_after touches: ask for a "
                    "definite yes or no.")
    record: WeekRecordOut
    promises: PromisesKeptOut = Field(description="Promises delivered in the last 7 days.")
    cold: list[CoachColdOut] = Field(
        description="Open deals gone cold, longest cold first (each listed here only, not "
                    "also under unplanned_deals).")


class ClosedAtTouchOut(Out):
    """Closed deals whose last touch was touch number `touches` (the last row: that or more)."""

    touches: int
    label: str = Field(description='"3", or "10+" for the last row.')
    won: int
    lost: int
    win_rate: float | None = Field(description="won / (won + lost); null when none closed.")


class OpenAtTouchOut(Out):
    touches: int
    label: str
    deals: int


class StatsWeekOut(Out):
    start: date = Field(description="The week's Monday, in the user's zone.")
    on_time: int = Field(description="Follow-ups whose time ended this week and were answered "
                                     "within one working day of their time.")
    late: int = Field(description="Answered, later than that.")
    missed: int = Field(description="Not answered, or moved away after their time.")
    median_answer_seconds: int | None = Field(
        description="From the end of this week's meetings to their answers; null for none.")


class StatsOut(Out):
    """The dashboard's figures."""

    closed_by_touch: list[ClosedAtTouchOut]
    median_touches_won: float | None
    median_touches_lost: float | None
    open_by_touch: list[OpenAtTouchOut]
    weeks: list[StatsWeekOut] = Field(description="The last 12 weeks, oldest first.")
    median_answer_seconds: int | None = Field(
        description="From a meeting's end to its answer, over those weeks' meetings.")
    promises: PromisesKeptOut = Field(
        description="Promises delivered in those weeks, by how they were kept.")


class WebhookOut(Out):
    """A CRM's webhook; its secret is shown once, when it is created."""

    id: int
    url: str
    events: list[str] = Field(description="The events it receives (see POST /webhooks).")
    created_at: Time
    failing_since: Time | None = Field(
        description="Since when every delivery has failed; null when the last one arrived.")
    disabled_at: Time | None = Field(
        description="When calsync stopped sending to it (failing for "
                    "CALSYNC_WEBHOOK_DISABLE_DAYS); redelivering one turns it back on.")
    disabled_reason: str | None


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="Signs every delivery (the Calsync-Signature header); "
                                    "shown only in this answer: keep it now.")


class WebhookList(Out):
    items: list[WebhookOut]


class WebhookAttemptOut(Out):
    """One attempt at a delivery."""

    at: Time
    status_code: int | None = Field(description="The receiver's HTTP status; null when it "
                                                "gave none (refused, unreachable, timed out).")
    duration_ms: int
    error: str | None = Field(description="Why it failed; null when it delivered.")


class WebhookDeliveryOut(Out):
    """One event sent to a webhook, how its last attempt went, and each attempt."""

    id: int
    event_id: str = Field(description="The body's `id`: the same on every retry and "
                                      "redelivery, so a receiver can drop repeats.")
    type: str
    body: str = Field(description="The exact JSON sent.")
    created_at: Time
    attempts: int
    status_code: int | None = Field(description="The receiver's last HTTP status; null when "
                                                "it gave none (refused, unreachable, timed out).")
    duration_ms: int | None
    error: str | None = Field(description=(
        "Why the last attempt failed; null once delivered. A delivery its webhook, "
        "disabled, keeps from being sent says so: \"Not sent: the webhook was disabled.\" "
        "before any attempt, else the last attempt's error followed by \"Not retried: the "
        "webhook was disabled.\" (its status_code and duration_ms stay the last attempt's)."))
    delivered_at: Time | None
    attempt_log: list[WebhookAttemptOut] = Field(description=(
        "Each attempt, oldest first; deliveries from before calsync kept them (migration "
        "0014) have only their last attempt, in the fields above."))


class WebhookDeliveryList(Out):
    items: list[WebhookDeliveryOut] = Field(description="Newest first.")
    next_cursor: str | None

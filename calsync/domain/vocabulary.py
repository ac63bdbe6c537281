"""Every vocabulary of states and codes calsync stores or shows, declared once as StrEnums.

A member equals its string ("open" == DealStatus.OPEN), so rows, JSON and templates read as
before; the words a person reads (labels, phrases) live beside the codes they explain.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class SourceStatus(StrEnum):
    """Where a source's syncing stands."""

    NEW = "new"
    OK = "ok"
    SYNCING = "syncing"
    ERROR = "error"
    NEEDS_RECONNECT = "needs_reconnect"  # the provider no longer accepts its credentials
    DISABLED = "disabled"  # paused: the account was disconnected or the calendar is gone

    @property
    def label(self) -> str:
        """ "Needs reconnecting": the badge on the sources pages."""
        return SOURCE_STATUS_LABELS[self]

    @property
    def paused(self) -> bool:
        """Neither synced, nor written to, nor watched until the user acts on it."""
        return self in PAUSED


SOURCE_STATUS_LABELS: Mapping[SourceStatus, str] = {
    SourceStatus.NEW: "Waiting for its first sync",
    SourceStatus.OK: "OK",
    SourceStatus.SYNCING: "Syncing…",
    SourceStatus.ERROR: "Error",
    SourceStatus.NEEDS_RECONNECT: "Needs reconnecting",
    SourceStatus.DISABLED: "Paused",
}
# A tuple, not a set, so a query's `status.not_in(PAUSED)` is the same SQL every time.
PAUSED: tuple[SourceStatus, ...] = (SourceStatus.DISABLED, SourceStatus.NEEDS_RECONNECT)


class SyncResult(StrEnum):
    """How one run of a source's sync ended (the report the CLI and the log show)."""

    OK = "ok"  # changes read and applied
    UNCHANGED = "unchanged"  # the provider said nothing changed since the cursor
    ERROR = "error"  # recorded on the source, retried as its status says
    SKIPPED = "skipped"  # another worker holds the source, or it is paused


class MeetingStatus(StrEnum):
    """Whether a meeting still takes place, as its source says."""

    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class SkipReason(StrEnum):
    """Why an ended meeting gets no prompt; NOT_SKIPPED when it gets one."""

    NOT_SKIPPED = "ok"
    ALL_DAY = "all_day"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    NOT_ENDED = "not_ended"
    TOO_OLD = "too_old"
    INTERNAL_ONLY = "internal_only"
    KEYWORD = "keyword"
    PROMPT_LIMIT = "prompt_limit"  # past the user's daily prompt limit

    @property
    def label(self) -> str:
        """ "only colleagues": why the inbox shows no prompt for a meeting."""
        return SKIP_REASON_LABELS[self]

    @property
    def remembered(self) -> bool:
        """Kept on the meeting (prompt_skip), so the minute tick does not judge it again:
        time changes nothing about it, unlike "not ended yet"."""
        return self not in (SkipReason.NOT_SKIPPED, SkipReason.NOT_ENDED, SkipReason.TOO_OLD)


SKIP_REASON_LABELS: Mapping[SkipReason, str] = {
    SkipReason.NOT_SKIPPED: "ok",
    SkipReason.ALL_DAY: "all-day event",
    SkipReason.CANCELLED: "cancelled",
    SkipReason.DECLINED: "you declined",
    SkipReason.NOT_ENDED: "not ended",
    SkipReason.TOO_OLD: "too old",
    SkipReason.INTERNAL_ONLY: "only colleagues",
    SkipReason.KEYWORD: "skip keyword",
    SkipReason.PROMPT_LIMIT: "daily prompt limit reached",
}


class PromptStatus(StrEnum):
    """Where a "how did it go?" question stands."""

    PENDING = "pending"
    ANSWERED = "answered"
    DISMISSED = "dismissed"
    SNOOZED = "snoozed"
    WITHDRAWN = "withdrawn"  # its meeting was cancelled before anyone answered
    # A later answer of the same deal moved past it: a touch, but no longer a question.
    COVERED = "covered"

    @property
    def awaiting_answer(self) -> bool:
        """Asked and not yet answered, dismissed, covered or withdrawn."""
        return self in AWAITING_ANSWER

    @property
    def label(self) -> str:
        return PROMPT_STATUS_LABELS[self]

    @property
    def counts_as_touch(self) -> bool:
        """Answered, or covered by a later answer of its deal: the touch took place."""
        return self in TOUCHED


AWAITING_ANSWER: tuple[PromptStatus, ...] = (PromptStatus.PENDING, PromptStatus.SNOOZED)
# The prompts whose touch counts: the deal's touches, the dashboard, the coach.
TOUCHED: tuple[PromptStatus, ...] = (PromptStatus.ANSWERED, PromptStatus.COVERED)

PROMPT_STATUS_LABELS: Mapping[PromptStatus, str] = {
    PromptStatus.PENDING: "Waiting",
    PromptStatus.ANSWERED: "Answered",
    PromptStatus.DISMISSED: "Put away",
    PromptStatus.SNOOZED: "Snoozed",
    PromptStatus.WITHDRAWN: "Withdrawn",
    PromptStatus.COVERED: "Covered",
}


class DismissReason(StrEnum):
    """Why the user put a prompt away without answering it."""

    NOT_SALES = "not_sales"
    DIDNT_HAPPEN = "didnt_happen"

    @property
    def label(self) -> str:
        return DISMISS_REASON_LABELS[self]


DISMISS_REASON_LABELS: Mapping[DismissReason, str] = {
    DismissReason.NOT_SALES: "Not a sales meeting",
    DismissReason.DIDNT_HAPPEN: "It didn't happen",
}


class Outcome(StrEnum):
    """The answer to "how did it go?"."""

    YES = "yes"  # won / agreed
    NO = "no"  # lost / declined
    NEXT_STEP = "next_step"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]

    @property
    def deal_status(self) -> DealStatus:
        """The deal's status when this is its latest answer."""
        return _DEAL_STATUS_OF_OUTCOME[self]


OUTCOME_LABELS: Mapping[Outcome, str] = {
    Outcome.YES: "Yes — won / agreed",
    Outcome.NO: "No",
    Outcome.NEXT_STEP: "Next step",
}


class NoReason(StrEnum):
    """Why a prospect said no."""

    NOT_INTERESTED = "not_interested"
    NO_BUDGET = "no_budget"
    CHOSE_COMPETITOR = "chose_competitor"
    BAD_TIMING = "bad_timing"
    OTHER = "other"

    @property
    def label(self) -> str:
        return NO_REASON_LABELS[self]


NO_REASON_LABELS: Mapping[NoReason, str] = {
    NoReason.NOT_INTERESTED: "Not interested",
    NoReason.NO_BUDGET: "No budget",
    NoReason.CHOSE_COMPETITOR: "Chose a competitor",
    NoReason.BAD_TIMING: "Bad timing",
    NoReason.OTHER: "Other",
}


class DealStatus(StrEnum):
    """A deal is open until a definite yes (won) or no (lost)."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"

    @property
    def closed(self) -> bool:
        return self is not DealStatus.OPEN


_DEAL_STATUS_OF_OUTCOME: Mapping[Outcome, DealStatus] = {
    Outcome.YES: DealStatus.WON,
    Outcome.NO: DealStatus.LOST,
    Outcome.NEXT_STEP: DealStatus.OPEN,
}


class Channel(StrEnum):
    """How a touch happens; the cadence keeps the channel that was promised."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    VISIT = "visit"
    OTHER = "other"

    @property
    def label(self) -> str:
        """ "Call": a form's choice, a follow-up's line on a page."""
        return CHANNEL_LABELS[self]

    @property
    def event_label(self) -> str:
        """ "Call": what a follow-up's calendar event is titled with; "Follow-up" for OTHER,
        since "Other: Acme" means nothing in a calendar."""
        return "Follow-up" if self is Channel.OTHER else self.label

    @property
    def phrase(self) -> str:
        """ "by email", to follow "follow up"; empty for OTHER."""
        return CHANNEL_PHRASES[self]


CHANNEL_LABELS: Mapping[Channel, str] = {
    Channel.CALL: "Call",
    Channel.EMAIL: "Email",
    Channel.MEETING: "Meeting",
    Channel.VISIT: "Visit",
    Channel.OTHER: "Other",
}
CHANNEL_PHRASES: Mapping[Channel, str] = {
    Channel.CALL: "with a call",
    Channel.EMAIL: "by email",
    Channel.MEETING: "in a meeting",
    Channel.VISIT: "with a visit",
    Channel.OTHER: "",
}


class FollowUpStatus(StrEnum):
    """A follow-up is planned until its time passes (done) or the plan changes (cancelled)."""

    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class FollowUpKind(StrEnum):
    """What a follow-up is for: the next touch of a sale, or one of the touches the advice
    names around a promise and after a yes or a no."""

    FOLLOW_UP = "follow_up"  # the next touch of a deal still open
    PROMISE = "promise"  # working on something promised to the client by a deadline
    FOLLOW_THROUGH = "follow_through"  # after delivering: did they get it, anything new
    CHECK_IN = "check_in"  # after a yes: are they satisfied
    REFERRAL = "referral"  # after a yes: whom else could it help
    UPSELL = "upsell"  # after a yes: what more could they use
    REVISIT = "revisit"  # after a no for bad timing: ask again when the time may be right

    @property
    def label(self) -> str:
        return FOLLOW_UP_KIND_LABELS[self]


FOLLOW_UP_KIND_LABELS: Mapping[FollowUpKind, str] = {
    FollowUpKind.FOLLOW_UP: "Follow-up",
    FollowUpKind.PROMISE: "Promise",
    FollowUpKind.FOLLOW_THROUGH: "Follow-through",
    FollowUpKind.CHECK_IN: "Satisfaction check-in",
    FollowUpKind.REFERRAL: "Referral ask",
    FollowUpKind.UPSELL: "Up-sell review",
    FollowUpKind.REVISIT: "Revisit",
}


class CancelReason(StrEnum):
    """Why a planned follow-up was cancelled by calsync rather than by a changed answer."""

    BOOKED = "booked"  # a meeting with the counterpart was booked before it: the next touch

    @property
    def label(self) -> str:
        return CANCEL_REASON_LABELS[self]


CANCEL_REASON_LABELS: Mapping[CancelReason, str] = {
    CancelReason.BOOKED: "a meeting with them was booked before it",
}


class PromiseTiming(StrEnum):
    """How a promise was kept: delivered before, at, or after the deadline given the client."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class WriteStatus(StrEnum):
    """How writing a follow-up to the user's calendar went."""

    PENDING = "pending"
    WRITTEN = "written"
    FAILED = "failed"  # shown until the user retries
    NOT_APPLICABLE = "not_applicable"  # no connected calendar receives follow-ups


class TimelineKind(StrEnum):
    """An entry on a deal's timeline."""

    TOUCH = "touch"  # an asked meeting or follow-up
    FOLLOWUP = "followup"  # a planned follow-up


class OutboxStatus(StrEnum):
    """An outside effect is pending until a worker has done it, or has given up."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class OAuthPurpose(StrEnum):
    """What an OAuth round trip is for."""

    CONNECT = "connect"  # read and write a Google calendar
    SIGNIN = "signin"  # sign in with Google


class EmailPrompts(StrEnum):
    """How a user wants prompts by email."""

    OFF = "off"
    EACH = "each"  # one email per prompt, as its meeting ends (quiet hours wait)
    SUMMARY = "summary"  # one email a day at the user's summary hour

    @property
    def label(self) -> str:
        return EMAIL_PROMPTS_LABELS[self]


EMAIL_PROMPTS_LABELS: Mapping[EmailPrompts, str] = {
    EmailPrompts.OFF: "No prompt emails",
    EmailPrompts.EACH: "One email as each meeting ends",
    EmailPrompts.SUMMARY: "One summary email a day",
}


class AnswerAction(StrEnum):
    """What an answer link proposes: one of the prompt's buttons."""

    YES = "yes"
    NO = "no"
    NEXT_STEP = "next_step"
    SNOOZE = "snooze"
    NOT_SALES = "not_sales"


class MissedReason(StrEnum):
    """Why a follow-up's time passed without it being done (the coach asks)."""

    NO_TIME = "no_time"
    WAITING = "waiting"  # waiting on them
    FORGOT = "forgot"
    NOT_NEEDED = "not_needed"
    OTHER = "other"  # with a note

    @property
    def label(self) -> str:
        return MISSED_REASON_LABELS[self]


MISSED_REASON_LABELS: Mapping[MissedReason, str] = {
    MissedReason.NO_TIME: "No time",
    MissedReason.WAITING: "Waiting on them",
    MissedReason.FORGOT: "Forgot",
    MissedReason.NOT_NEEDED: "Not needed",
    MissedReason.OTHER: "Other",
}


class Timeliness(StrEnum):
    """How a follow-up whose time has passed was done (the coach's record, the dashboard)."""

    ON_TIME = "on_time"  # answered within one working day of its time
    LATE = "late"  # answered, later than that
    MISSED = "missed"  # not answered (yet), or moved away after its time


class WebhookEvent(StrEnum):
    """What a CRM's webhook may subscribe to (the `type` of each delivery)."""

    OUTCOME_RECORDED = "outcome.recorded"
    FOLLOWUP_CREATED = "followup.created"
    FOLLOWUP_UPDATED = "followup.updated"
    FOLLOWUP_CANCELLED = "followup.cancelled"
    DEAL_WON = "deal.won"
    DEAL_LOST = "deal.lost"
    DEAL_REOPENED = "deal.reopened"
    PROMISE_DELIVERED = "promise.delivered"

    @property
    def label(self) -> str:
        return WEBHOOK_EVENT_LABELS[self]


WEBHOOK_EVENT_LABELS: Mapping[WebhookEvent, str] = {
    WebhookEvent.OUTCOME_RECORDED: "An outcome is recorded",
    WebhookEvent.FOLLOWUP_CREATED: "A follow-up is planned",
    WebhookEvent.FOLLOWUP_UPDATED: "A follow-up changes",
    WebhookEvent.FOLLOWUP_CANCELLED: "A follow-up is cancelled",
    WebhookEvent.DEAL_WON: "A deal is won",
    WebhookEvent.DEAL_LOST: "A deal is lost",
    WebhookEvent.DEAL_REOPENED: "A won or lost deal is open again",
    WebhookEvent.PROMISE_DELIVERED: "A promise is delivered",
}


# Every vocabulary above, e.g. for the templates, which compare against the members by name.
VOCABULARIES: tuple[type[StrEnum], ...] = (
    SourceStatus, SyncResult, MeetingStatus, SkipReason, PromptStatus, DismissReason, Outcome,
    NoReason, DealStatus, Channel, FollowUpStatus, WriteStatus, TimelineKind, OutboxStatus,
    OAuthPurpose, EmailPrompts, AnswerAction, MissedReason, Timeliness, FollowUpKind,
    CancelReason, PromiseTiming, WebhookEvent,
)

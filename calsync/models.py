"""calsync's tables as SQLAlchemy 2.0 typed models; every user owns every row below them.

Schema changes go through Alembic migrations in `calsync/migrations/`, never create_all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Required, TypedDict, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    deferred,
    mapped_column,
    relationship,
)

from calsync.domain.meeting import search_text as meeting_search_text
from calsync.domain.vocabulary import (
    CancelReason,
    Channel,
    DealStatus,
    DismissReason,
    EmailPrompts,
    FollowUpKind,
    FollowUpStatus,
    MeetingStatus,
    MissedReason,
    NoReason,
    OAuthPurpose,
    OutboxStatus,
    Outcome,
    PromptStatus,
    SkipReason,
    SourceStatus,
    WebhookEvent,
    WriteStatus,
)

E = TypeVar("E", bound=StrEnum)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Vocabulary(TypeDecorator[E]):
    """A vocabulary (calsync.domain.vocabulary) stored as its plain string, so the column
    stays a VARCHAR of the same length; rows load with the member, and a value outside the
    vocabulary is refused before it reaches the database."""

    impl = String
    cache_ok = True

    def __init__(self, vocabulary: type[E], length: int) -> None:
        super().__init__(length)
        self.vocabulary = vocabulary

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else self.vocabulary(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> E | None:
        return None if value is None else self.vocabulary(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


@event.listens_for(Base, "mapper_configured", propagate=True)
def _members_on_assignment(mapper: Mapper[Any], cls: type[Base]) -> None:
    """A string assigned to a vocabulary column becomes its member at once, as a loaded one
    is, so such an attribute never holds a bare string and a misspelt state fails where it
    is written."""
    for attribute in mapper.column_attrs:
        column_type = attribute.columns[0].type
        if isinstance(column_type, Vocabulary):
            event.listen(attribute.class_attribute, "set",
                         _to_member(column_type.vocabulary), retval=True)


def _to_member(vocabulary: type[E]) -> Callable[[Base, str | None, Any, Any], E | None]:
    def on_set(target: Base, value: str | None, old: Any, initiator: Any) -> E | None:
        return None if value is None else vocabulary(value)
    return on_set


class AttendeeRow(TypedDict, total=False):
    """One attendee as a meeting's row keeps it (JSON): `calsync.domain.meeting.Attendee`'s
    fields, any of them but the email missing from rows stored before it was kept."""

    email: Required[str]
    name: str
    response: str
    is_self: bool


def _owner() -> Mapped[int]:
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Domains besides the user's own whose people count as colleagues, not prospects.
    internal_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Words in a title that mark a meeting as not a sales meeting ("lunch", "focus" ...).
    skip_keywords: Mapped[list[str] | None] = mapped_column(JSON)
    # The user's own changes to config/cadence.toml; None keeps the defaults.
    cadence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    # The Google account ("sub" of its id_token) the user signs in with, if any.
    google_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Prompts by email, and the daily coach; hours and quiet times in the user's zone.
    email_prompts: Mapped[EmailPrompts] = mapped_column(
        Vocabulary(EmailPrompts, 16), default=EmailPrompts.EACH, server_default="each")
    summary_hour: Mapped[int] = mapped_column(Integer, default=17, server_default="17")
    quiet_start: Mapped[time] = mapped_column(Time, default=time(20), server_default="20:00:00")
    quiet_end: Mapped[time] = mapped_column(Time, default=time(7), server_default="07:00:00")
    digest: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    digest_hour: Mapped[int] = mapped_column(Integer, default=8, server_default="8")
    # The mail server refused the address for good: no more email until the user changes it.
    email_refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_refused_reason: Mapped[str | None] = mapped_column(Text)

    # Flask-Login's protocol, kept here so the model needs no mixin import.
    is_active = True
    is_authenticated = True
    is_anonymous = False
    # The plaintext token of the login this request came with (see LoginSession); set by
    # calsync.services.accounts when a login starts or is loaded, never stored on the row.
    # Its type is told to the checker alone: the ORM reads a class's annotations as
    # columns, and refuses one that is not Mapped[].
    if TYPE_CHECKING:
        login_token: str | None
    login_token = None

    def get_id(self) -> str:
        # Flask-Login puts this in the session and the remember cookie: a per-login token,
        # so revoking the login row ends both, unlike the user id that never changes.
        if not self.login_token:
            raise RuntimeError("sign in through calsync.services.accounts.start_login, which gives "
                               "the login a revocable token")
        return self.login_token


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in the list, never enough to use
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginSession(Base):
    """One sign-in in one browser; the session and remember cookies carry its token."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    kind: Mapped[str] = mapped_column(String(200))  # a provider name, or a plugin's dotted path
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text, default="")
    upload: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # Provider tokens, sealed by calsync.crypto; never stored or logged in the clear.
    credentials: Mapped[str | None] = deferred(mapped_column(Text))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Sync state is data: status, cursor, last success and error, failures, next try.
    status: Mapped[SourceStatus] = mapped_column(Vocabulary(SourceStatus, 32),
                                                 default=SourceStatus.NEW)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # A worker holds the source until this time; an expired lock means it died mid-sync.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by a push notification, cleared when a sync starts: a burst queues one sync.
    sync_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

    @property
    def all_warnings(self) -> list[str]:
        """What the last read warned about, and each calendar that can't push changes."""
        pushed = (self.options or {}).get("push_warnings") or {}
        return [*(self.warnings or []), *pushed.values()]


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("source_id", "uid", "recurrence_id", name="uq_meetings_key"),
        Index("ix_meetings_user_end", "user_id", "end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    # NULL once its source is removed: an answered meeting stays, with its notes.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    uid: Mapped[str] = mapped_column(String(1024))
    recurrence_id: Mapped[str] = mapped_column(String(64), default="")
    series_uid: Mapped[str] = mapped_column(String(1024), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[MeetingStatus] = mapped_column(Vocabulary(MeetingStatus, 16),
                                                  default=MeetingStatus.CONFIRMED)
    attendees: Mapped[list[AttendeeRow]] = mapped_column(JSON, default=list)
    # How many attendees the source listed; `attendees` keeps at most
    # CALSYNC_MAX_ATTENDEES_PER_MEETING of them (0 on rows stored before the count was).
    attendee_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    organizer: Mapped[str] = mapped_column(String(320), default="")
    location: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    conference_url: Mapped[str] = mapped_column(Text, default="")
    # A hash of everything above, so a re-sync touches only rows whose content changed.
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # The title and attendees, case-folded, for search boxes (calsync.services.search):
    # written with them by sync; worked out from them for a row inserted any other way.
    search_text: Mapped[str] = mapped_column(Text, default=lambda context: _search_text(
        context.get_current_parameters()), server_default="")
    # Why this meeting gets no prompt (internal, keyword...), so the minute tick does not
    # judge it again; cleared when the meeting or the user's rules change.
    prompt_skip: Mapped[SkipReason | None] = mapped_column(Vocabulary(SkipReason, 32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    source: Mapped[Source | None] = relationship()

    @property
    def more_attendees(self) -> int:
        """Attendees the source listed beyond those stored, for "and 950 more"."""
        return max((self.attendee_count or 0) - len(self.attendees or ()), 0)


def _search_text(row: dict[str, Any]) -> str:
    return meeting_search_text(row.get("title") or "", row.get("attendees") or ())


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_deals_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    name: Mapped[str] = mapped_column(String(200))
    # The counterpart's grouping key (an email domain, a normalised title); None when the
    # user made the deal by hand.
    key: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[DealStatus] = mapped_column(Vocabulary(DealStatus, 16),
                                               default=DealStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def counterpart(self) -> str:
        """Whom the deal is with as the calendar says it (an email domain or address), shown
        beside its name; "" for a deal grouped by title or made by hand."""
        kind, _, value = (self.key or "").partition(":")
        return value if kind in ("domain", "email") else ""


class FollowUp(Base):
    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)  # never changes: the feed's UID
    summary: Mapped[str] = mapped_column(Text)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[Channel] = mapped_column(Vocabulary(Channel, 16))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[FollowUpStatus] = mapped_column(Vocabulary(FollowUpStatus, 16),
                                                   default=FollowUpStatus.PLANNED)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Write-back to the user's calendar: which source receives it, and how it went.
    target_source_id: Mapped[int | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL"))
    write_status: Mapped[WriteStatus] = mapped_column(Vocabulary(WriteStatus, 16),
                                                      default=WriteStatus.NOT_APPLICABLE)
    write_error: Mapped[str | None] = mapped_column(Text)
    remote_calendar_id: Mapped[str | None] = mapped_column(String(1024))
    remote_event_id: Mapped[str | None] = mapped_column(String(1024))
    remote_etag: Mapped[str | None] = mapped_column(String(255))
    # Held by the worker writing this follow-up to its calendar: writes of one follow-up
    # never overlap, so a cancellation can't race the insert it cancels.
    write_leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The times the calendar has for it, as far as calsync knows (written, or read back).
    written_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    written_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why its time passed without it being done, as the user told the coach.
    missed_reason: Mapped[MissedReason | None] = mapped_column(Vocabulary(MissedReason, 16))
    missed_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    missed_reason_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What it is for (a plain next touch, a promise, an after-sale touch...).
    kind: Mapped[FollowUpKind] = mapped_column(Vocabulary(FollowUpKind, 16),
                                               default=FollowUpKind.FOLLOW_UP,
                                               server_default=FollowUpKind.FOLLOW_UP.value)
    # A promise's deadline given to the client; the follow-up itself is planned ahead of it.
    promise_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When what was promised was delivered (a promise follow-up, answered "Delivered").
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "What will you bring them?": the value this touch adds, shown in the event.
    value_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Why calsync cancelled it (None when a changed answer did), and the booked meeting
    # that took its place as the deal's next touch.
    cancel_reason: Mapped[CancelReason | None] = mapped_column(Vocabulary(CancelReason, 16))
    booked_meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="SET NULL"))

    deal: Mapped[Deal] = relationship()

    def cancel(self, now: datetime) -> bool:
        """Mark it cancelled (kept in the feed for a while); False if it already was."""
        if self.status is FollowUpStatus.CANCELLED:
            return False
        self.status = FollowUpStatus.CANCELLED
        self.cancelled_at = now
        self.changed_at = now
        self.sequence += 1
        return True

    def plan_again(self, now: datetime) -> None:
        """Undo a cancellation: planned again, as a new version of its event."""
        self.status = FollowUpStatus.PLANNED
        self.cancelled_at = None
        self.cancel_reason = None
        self.changed_at = now
        self.sequence += 1


class Prompt(Base):
    """"How did it go?" about one touch: a meeting, or a follow-up whose time has passed."""

    __tablename__ = "prompts"
    __table_args__ = (Index("ix_prompts_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), unique=True)
    followup_id: Mapped[int | None] = mapped_column(
        ForeignKey("followups.id", ondelete="CASCADE"), unique=True)
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"), index=True)
    # When the touch happened (its end): orders the inbox and anchors the cadence.
    touch_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[PromptStatus] = mapped_column(Vocabulary(PromptStatus, 16),
                                                 default=PromptStatus.PENDING)
    outcome: Mapped[Outcome | None] = mapped_column(Vocabulary(Outcome, 16))
    note: Mapped[str] = mapped_column(Text, default="")
    no_reason: Mapped[NoReason | None] = mapped_column(Vocabulary(NoReason, 32))
    dismiss_reason: Mapped[DismissReason | None] = mapped_column(Vocabulary(DismissReason, 32))
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The follow-up this prompt's answer planned (a next step, or a reschedule).
    planned_followup_id: Mapped[int | None] = mapped_column(
        ForeignKey("followups.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The later answer of the same deal that made this prompt moot (status COVERED).
    covered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("prompts.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Meeting | None] = relationship(foreign_keys=[meeting_id])
    followup: Mapped[FollowUp | None] = relationship(foreign_keys=[followup_id])
    planned_followup: Mapped[FollowUp | None] = relationship(foreign_keys=[planned_followup_id])
    deal: Mapped[Deal | None] = relationship()
    covered_by: Mapped[Prompt | None] = relationship(remote_side=[id],
                                                     foreign_keys=[covered_by_id])


class SkippedSeries(Base):
    """A recurring series the user said is never a sales meeting: no prompts for it."""

    __tablename__ = "skipped_series"
    __table_args__ = (
        UniqueConstraint("user_id", "source_id", "series_uid", name="uq_skipped_series"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    series_uid: Mapped[str] = mapped_column(String(1024))


class FeedState(Base):
    """The last rendered feed per user: its bytes (plain and gzipped), their ETag, when those
    bytes last changed, and whether they are still current."""

    __tablename__ = "feed_states"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    etag: Mapped[str] = mapped_column(String(80))
    # Deferred: a conditional request is answered from the validators alone.
    body: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    body_gzip: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime)
    # Bumped in the transaction of every change the feed shows. The bytes are current while
    # rendered_generation equals it: a render stores the generation it read before reading
    # the follow-ups, so a change committed during the render leaves the feed stale.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rendered_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the next cancelled follow-up leaves the feed (its bytes are stale from then on).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxEntry(Base):
    """An outside effect (write an event, stop a channel...) recorded with the change that
    causes it, and done by a worker until it succeeds or is shown as failed."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    kind: Mapped[str] = mapped_column(String(32))
    followup_id: Mapped[int | None] = mapped_column(
        ForeignKey("followups.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Names an effect that must happen once ever ("prompt-email:42"): a second record of
    # the same key is the same entry, whatever became of the first.
    key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(Vocabulary(OutboxStatus, 16),
                                                 default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PushChannel(Base):
    """A Google push channel watching one calendar of a source."""

    __tablename__ = "push_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    calendar_id: Mapped[str] = mapped_column(String(1024))
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)
    token: Mapped[str] = mapped_column(String(128))  # echoed back by Google on every call
    resource_id: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The highest X-Goog-Message-Number accepted: a replayed notification is not higher.
    last_message_number: Mapped[int | None] = mapped_column(BigInteger)


class OAuthState(Base):
    """One OAuth round trip in flight: its `state` and the PKCE verifier, kept server-side."""

    __tablename__ = "oauth_states"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    purpose: Mapped[OAuthPurpose] = mapped_column(Vocabulary(OAuthPurpose, 16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_verifier: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduleMark(Base):
    """When a periodic job last ran: however many workers run the scheduler, the one that
    moves this mark forward runs the job, the others skip it."""

    __tablename__ = "schedule_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Webhook(Base):
    """A CRM's address calsync POSTs events to, signed with a secret sealed at rest."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _owner()
    url: Mapped[str] = mapped_column(String(2048))
    secret_sealed: Mapped[str] = mapped_column(Text)  # calsync.crypto; shown once, at creation
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Since when every attempt failed (None after any success); past the limit, disabled.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookAttempt(Base):
    """One attempt at a delivery: when, what the receiver answered, how long it took, and
    why it failed (None when it delivered)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One event for one webhook: the exact body sent, how its last attempt went, and each
    attempt (logged since migration 0014)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_recent", "webhook_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))  # the body's `id`, stable across retries
    type: Mapped[WebhookEvent] = mapped_column(Vocabulary(WebhookEvent, 32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        order_by=WebhookAttempt.id, cascade="all, delete-orphan", passive_deletes=True)

"""Rows to response models: what a source, meeting, prompt, deal or follow-up looks like
from outside. Secrets (upload bytes, cursors, tokens) never leave through here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from calsync.domain.vocabulary import (
    AWAITING_ANSWER,
    FollowUpStatus,
    MeetingStatus,
    PromptStatus,
    WriteStatus,
)
from calsync.services import answers, prompts, sources
from calsync.web.api.schemas import (
    AttendeeOut,
    BookedOut,
    DealDetailOut,
    DealOut,
    DealRef,
    FollowUpOut,
    MeetingOut,
    OutcomeOut,
    PromptActionOut,
    PromptOut,
    SourceOut,
    SuggestionOut,
    TimelineEntryOut,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from calsync.config import Settings
    from calsync.models import FollowUp, Meeting, Prompt, Source, User
    from calsync.services.deals import DealSummary, TimelineEntry

def source_out(source: Source) -> SourceOut:
    """A source as the API shows it. An upload has no `next_sync_at`: calsync never fetches
    it again (it only re-expands its repeating events as the window moves); a new upload
    is how it changes."""
    return SourceOut(
        id=source.id, kind=source.kind, name=source.name, url=source.url or None,
        status=source.status, last_synced_at=source.last_synced_at,
        last_error=source.last_error, warnings=source.all_warnings,
        next_sync_at=None if sources.is_upload(source) else source.next_sync_at,
        **_calendars(source))


def _calendars(source: Source) -> dict[str, object]:
    """The calendars of an account with several (Google, CalDAV, Microsoft): the ones its
    picker lists (`calendar_names`) are what PATCH chooses from; null for a single feed."""
    options = source.options or {}
    if "calendar_names" not in options:
        return {"calendars_read": None, "calendar_written": None}
    return {"calendars_read": [str(c) for c in options.get("calendars_read") or []],
            "calendar_written": options.get("calendar_written")}


def meeting_out(meeting: Meeting) -> MeetingOut:
    day_based = meeting.all_day and meeting.start_date is not None and meeting.end_date is not None
    return MeetingOut(
        id=meeting.id, source_id=meeting.source_id, title=meeting.title,
        start=meeting.start_date if day_based else meeting.start,
        end=meeting.end_date if day_based else meeting.end,
        all_day=meeting.all_day, status=meeting.status,
        attendees=[AttendeeOut(email=a.get("email", ""), name=a.get("name", ""),
                               response=a.get("response", "")) for a in meeting.attendees or ()],
        more_attendees=meeting.more_attendees)


def followup_as_meeting(followup: FollowUp) -> MeetingOut:
    return MeetingOut(
        id=None, source_id=None, followup_id=followup.id, title=followup.summary,
        start=followup.start, end=followup.end, all_day=False, attendees=[],
        status=(MeetingStatus.CANCELLED if followup.status == FollowUpStatus.CANCELLED
                else MeetingStatus.CONFIRMED))


def followup_out(followup: FollowUp) -> FollowUpOut:
    return FollowUpOut(
        id=followup.id, deal_id=followup.deal_id, summary=followup.summary,
        start=followup.start, end=followup.end, channel=followup.channel, note=followup.note,
        cancel_reason=followup.cancel_reason, booked_meeting_id=followup.booked_meeting_id,
        status=followup.status, write_status=followup.write_status or WriteStatus.NOT_APPLICABLE,
        remote_event_id=followup.remote_event_id, kind=followup.kind,
        promise_due=followup.promise_due, delivered_at=followup.delivered_at,
        promise_timing=answers.promise_kept(followup), value_note=followup.value_note)


class PromptRenderer:
    """Renders prompts for one request; counts each deal's touches once, however many
    of its prompts are on the page."""

    def __init__(self, session: Session, settings: Settings, user: User,
                 now: datetime | None = None) -> None:
        self.session, self.settings, self.user = session, settings, user
        self.now = now or datetime.now(UTC)
        self._touches: dict[int, int] = {}
        self._contexts: dict[int, prompts.TouchContext] = {}

    def preload(self, shown: list[Prompt]) -> None:
        """Read the touch contexts and counts of the prompts a page shows, all at once."""
        self._contexts.update(prompts.touch_contexts(self.session, shown))
        wanted = {p.deal_id for p in shown if p.deal_id is not None} - set(self._touches)
        if wanted:
            self._touches.update(prompts.touch_counts(self.session, wanted))

    def touches(self, deal_id: int) -> int:
        if deal_id not in self._touches:
            self._touches[deal_id] = prompts.deal_touches(self.session, deal_id)
        return self._touches[deal_id]

    def _context(self, prompt: Prompt) -> prompts.TouchContext:
        if prompt.id not in self._contexts:
            self._contexts.update(prompts.touch_contexts(self.session, [prompt]))
        return self._contexts[prompt.id]

    def out(self, prompt: Prompt) -> PromptOut:
        return PromptOut(**self._fields(prompt))

    def action_out(self, prompt: Prompt, followup: FollowUp | None,
                   warning: str | None = None) -> PromptActionOut:
        self._touches.pop(prompt.deal_id or 0, None)  # the action may have changed them
        self._contexts.pop(prompt.id, None)
        return PromptActionOut(**self._fields(prompt),
                               followup=followup_out(followup) if followup else None,
                               warning=warning)

    def _fields(self, prompt: Prompt) -> dict[str, object]:
        if prompt.meeting is not None:
            meeting = meeting_out(prompt.meeting)
        elif prompt.followup is not None:
            meeting = followup_as_meeting(prompt.followup)
        else:
            meeting = None
        deal = None
        if prompt.deal is not None:
            deal = DealRef(id=prompt.deal.id, name=prompt.deal.name,
                           touches=self.touches(prompt.deal.id),
                           touch_number=self._context(prompt).touches_before + 1)
        return {
            "id": prompt.id, "status": prompt.status, "touch_at": prompt.touch_at,
            "meeting": meeting, "deal": deal, "suggestion": self._suggestion(prompt),
            "outcome": _outcome(prompt), "snoozed_until": prompt.snoozed_until,
            "dismiss_reason": prompt.dismiss_reason, "note": prompt.note or "",
            "covered_by": prompt.covered_by_id,
            "kind": prompt.followup.kind if prompt.followup is not None else None,
            "promise_due": prompt.followup.promise_due if prompt.followup is not None else None,
        }

    def _suggestion(self, prompt: Prompt) -> SuggestionOut | None:
        if prompt.status not in AWAITING_ANSWER:
            return None
        s = prompts.suggestion_for(self.session, self.settings, self.user, prompt, self.now,
                                   context=self._context(prompt))
        return SuggestionOut(start=s.start, channel=s.channel, duration_minutes=s.duration_minutes,
                             touch_number=s.touch_number, suggest_close=s.suggest_close,
                             message=s.message)


def _outcome(prompt: Prompt) -> OutcomeOut | None:
    if prompt.status != PromptStatus.ANSWERED or prompt.outcome is None:
        return None
    return OutcomeOut(outcome=prompt.outcome, note=prompt.note or "", no_reason=prompt.no_reason,
                      answered_at=prompt.answered_at, followup_id=prompt.planned_followup_id)


def deal_out(summary: DealSummary) -> DealOut:
    return DealOut(**_deal_fields(summary))


def _deal_fields(summary: DealSummary) -> dict[str, object]:
    deal, upcoming = summary.deal, summary.next_followup
    return {"id": deal.id, "name": deal.name, "status": deal.status, "touches": summary.touches,
            "needs_next_touch": summary.needs_next_touch, "since": summary.since,
            "last_touch": summary.last_touch, "overdue": summary.overdue,
            "cold": summary.cold, "cold_since": summary.cold_since,
            "next_followup": followup_out(upcoming) if upcoming is not None else None,
            "next_booked": _booked_out(summary.booked_next)}


def _booked_out(meeting: Meeting | None) -> BookedOut | None:
    if meeting is None:
        return None
    return BookedOut(meeting_id=meeting.id, title=meeting.title or "Untitled meeting",
                     start=meeting.start, end=meeting.end)


def deal_detail_out(summary: DealSummary, entries: list[TimelineEntry],
                    renderer: PromptRenderer) -> DealDetailOut:
    renderer.preload([entry.prompt for entry in entries if entry.prompt is not None])
    timeline = [
        TimelineEntryOut(
            at=entry.at, kind=entry.kind,
            prompt=renderer.out(entry.prompt) if entry.prompt is not None else None,
            followup=followup_out(entry.followup) if entry.followup is not None else None)
        for entry in entries
    ]
    return DealDetailOut(**_deal_fields(summary), timeline=timeline)

"""The daily coach: what is due today, what was missed and why, and the last week's record.

Loads a user's follow-ups, prompts and deals and hands them to `calsync.domain.coaching`;
records why a follow-up was missed and moves a missed follow-up to a new time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from calsync.domain.text import calendar_text
from calsync.domain.vocabulary import MissedReason
from calsync.errors import ValidationFailed
from calsync.models import FollowUp, User
from calsync.services.deals import get_followup

MAX_MISSED_NOTE = 2_000
REASONS = tuple(reason.value for reason in MissedReason)


def record_missed_reason(session: Session, user: User, followup_id: int, reason: str,
                         note: str = "", now: datetime | None = None) -> FollowUp:
    """Record why the user's follow-up `followup_id` was missed (a second answer replaces
    the first); commits. Raises NotFound, and ValidationFailed (field "reason" or "note")
    for an unknown reason, OTHER without a note, or a follow-up whose time has not passed."""
    now = now or datetime.now(UTC)
    if reason not in REASONS:
        raise ValidationFailed("reason", f"use one of: {', '.join(REASONS)}.")
    note = calendar_text(note).strip()
    if reason == MissedReason.OTHER and not note:
        raise ValidationFailed("note", "say in a few words why it was missed.")
    if len(note) > MAX_MISSED_NOTE:
        raise ValidationFailed("note", f"keep the note under {MAX_MISSED_NOTE} characters.")
    followup = get_followup(session, user, followup_id)
    if followup.start > now:
        raise ValidationFailed("reason", "this follow-up's time has not come yet.")
    followup.missed_reason = MissedReason(reason)
    followup.missed_note = note
    followup.missed_reason_at = now
    session.commit()
    return followup

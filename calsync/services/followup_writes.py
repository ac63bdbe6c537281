"""A follow-up's write to the user's calendar, as the user acts on it: trying a failed one
again. The write itself is the outbox's job (calsync.jobs.writeback)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.domain.vocabulary import OutboxStatus
from calsync.jobs import outbox, queue
from calsync.jobs.writeback import WRITE
from calsync.models import FollowUp, OutboxEntry, User
from calsync.services import deals


def retry_failed_write(session: Session, user: User, followup_id: int) -> FollowUp | None:
    """Try the user's follow-up's last failed write again; None when it has none. Commits,
    then queues the write (which may already have run when this returns)."""
    followup = deals.get_followup(session, user, followup_id)
    entry = session.scalar(
        select(OutboxEntry).where(OutboxEntry.followup_id == followup.id,
                                  OutboxEntry.kind == WRITE,
                                  OutboxEntry.status == OutboxStatus.FAILED)
        .order_by(OutboxEntry.id.desc()))
    if entry is None:
        return None
    outbox.retry(session, entry)
    session.commit()
    queue.enqueue("process_outbox", entry.id)
    session.refresh(followup)  # the queue may run the write at once, in its own session
    return followup

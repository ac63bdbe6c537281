"""The outbox's table of effects, each kind of entry and the function that performs it,
and `process`, which performs one due entry under its lease.

To add an effect: write its handler (idempotent: a crash can make it run twice), add its
kind to `HANDLERS`, and record entries of that kind with `outbox.record`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.errors import CalsyncError
from calsync.jobs import digest, outbox, webhooks, writeback
from calsync.jobs.prompt_mail import send_prompt, send_summary
from calsync.models import OutboxEntry
from calsync.services.google import channels
from calsync.services.prompt_mail import PROMPT_EMAIL, SUMMARY_EMAIL

log = logging.getLogger(__name__)

# Performs one entry. A failure a person should see is a CalsyncError (a SourceError that
# is `transient` is retried, not before its `retry_in` if the server asked for one; a
# webhook's DeliveryFailed names its own `next_try`); anything else counts as calsync's
# own bug, and is retried.
Handler = Callable[[Session, Settings, OutboxEntry], None]

HANDLERS: dict[str, Handler] = {
    writeback.WRITE: writeback.write_followup,
    channels.STOP: channels.close_channel,
    PROMPT_EMAIL: send_prompt,
    SUMMARY_EMAIL: send_summary,
    digest.KIND: digest.send_digest,
    webhooks.KIND: webhooks.deliver,
}


def handler_for(kind: str) -> Handler:
    """The function that performs entries of `kind`; LookupError for a kind not in the table."""
    handler = HANDLERS.get(kind)
    if handler is None:
        raise LookupError(f"No outbox handler for entries of kind {kind!r}; "
                          f"calsync/jobs/effects.py knows {', '.join(sorted(HANDLERS))}.")
    return handler


def process(session: Session, settings: Settings, entry_id: int,
            now: datetime | None = None) -> OutboxEntry | None:
    """Do one entry if it is due and no other worker holds it; returns it, or None.
    Commits the claim before the handler runs and the result after it (calsync.jobs)."""
    now = now or datetime.now(UTC)
    leased_until = now + timedelta(seconds=settings.outbox_lease_seconds)
    if not outbox.claim(session, entry_id, now, leased_until):
        return None
    entry = outbox.load(session, entry_id)
    try:
        handler_for(entry.kind)(session, settings, entry)
    except CalsyncError as error:
        session.rollback()
        entry = outbox.load(session, entry_id)
        outbox.failed_attempt(session, entry, str(error), getattr(error, "transient", False),
                              now, next_try=getattr(error, "next_try", None),
                              not_before=getattr(error, "retry_in", None))
    except Exception as error:
        # A bug must not lose the effect: keep retrying, visibly, until attempts run out.
        log.exception("outbox entry %s (%s) failed", entry_id, type(error).__name__)
        session.rollback()
        entry = outbox.load(session, entry_id)
        outbox.failed_attempt(session, entry, "calsync hit an internal error; it will try "
                                              "again.", True, now)
    else:
        # When the effect landed, not when it was claimed: a sync compares it with when its
        # read began (writeback.apply_own_events), and the handler may have taken a while.
        outbox.done(session, entry, datetime.now(UTC), leased_until)
    if not outbox.release(session, entry, leased_until):
        # The lease ran out while the handler worked, and another worker took the
        # follow-up: what it did may be newer than what this one just did (a delete that
        # found nothing before this write landed). Doing it again from the follow-up as it
        # is then puts the calendar right.
        outbox.again(session, entry)
    session.commit()
    return entry

"""How many prompts a user may still get, and what becomes of the meetings past the limit.

A flood of ended meetings (a feed of minutely series) becomes one warning on its calendar,
not thousands of prompts.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import commit_batch
from calsync.domain.vocabulary import SkipReason
from calsync.models import Meeting, Prompt, Source

DAY = timedelta(days=1)
WARNING = ("calsync asks about at most {limit:,} meetings a day "
           "(CALSYNC_MAX_PROMPTS_PER_USER_PER_DAY); {count:,} meetings that ended on this "
           "calendar got no prompt.")
BATCH = 1000


def prompted_today(session: Session, user_id: int, now: datetime) -> int:
    """Prompts the user got in the 24 hours before `now`."""
    return session.scalar(select(func.count(Prompt.id)).where(
        Prompt.user_id == user_id, Prompt.created_at > now - DAY)) or 0


def allowed(session: Session, settings: Settings, user_id: int, now: datetime) -> int:
    """Prompts one pass (a sync or a tick) may still create for the user."""
    left = settings.max_prompts_per_user_per_day - prompted_today(session, user_id, now)
    return max(min(settings.max_prompts_per_sync, left), 0)


def hold_back(session: Session, settings: Settings, user_id: int, now: datetime,
              due: list[ColumnElement[bool]]) -> None:
    """Past the daily limit, the user's meetings still due get no prompt, and each of their
    calendars says so once; short of it (a pass used its share), the next tick goes on.
    Commits a batch of meetings at a time, so the write lock is never held long."""
    limit = settings.max_prompts_per_user_per_day
    if prompted_today(session, user_id, now) < limit:
        return
    held: Counter[int] = Counter()
    pending = select(Meeting.id, Meeting.source_id).where(*due, Meeting.user_id == user_id)
    while rows := session.execute(pending.limit(BATCH)).all():
        # Remembered on the meeting like any other skip, so it is not judged again.
        session.execute(update(Meeting).where(Meeting.id.in_([row.id for row in rows]))
                        .values(prompt_skip=SkipReason.PROMPT_LIMIT))
        commit_batch(session)
        held.update(row.source_id for row in rows if row.source_id is not None)
    for source_id, count in held.items():
        source = session.get(Source, source_id)
        if source is not None:
            _warn(source, WARNING.format(limit=limit, count=count))
    session.commit()


def _warn(source: Source, warning: str) -> None:
    """Replace the source's earlier prompt-limit warning, if any, with `warning`."""
    prefix = WARNING.split("{", 1)[0]
    kept = [w for w in source.warnings or [] if not w.startswith(prefix)]
    source.warnings = [*kept, warning]

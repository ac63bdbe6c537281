"""The per-user feed behind its secret URL: rendered from follow-ups, cached with its validators.

Last-Modified is when the bytes last changed, so a deletion moves it as surely as an edit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.domain.vocabulary import FollowUpStatus
from calsync.feed.render import FeedEvent, feed_events, render_feed, strong_etag
from calsync.models import FeedState, FollowUp, User
from calsync.services.links import followup_url

REFRESH_MINUTES = 60
_SECOND = timedelta(seconds=1)


def feed_url(settings: Settings, user: User) -> str:
    return f"{settings.base_url.rstrip('/')}/feed/{user.feed_token}.ics"


def webcal_url(settings: Settings, user: User) -> str:
    return "webcal://" + feed_url(settings, user).split("://", 1)[1]


def deal_url(settings: Settings, deal_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/deals/{deal_id}"


def answer_url(settings: Settings, followup: FollowUp) -> str:
    """ "How did it go?" on the follow-up's event (its own address: the same on every
    render); none on a cancelled one, which nobody is asked about."""
    if followup.status is FollowUpStatus.CANCELLED:
        return ""
    return followup_url(settings, followup.user_id, followup.id, followup.end)


def user_by_feed_token(session: Session, token: str) -> User | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(User).where(User.feed_token == token))


def current_feed(session: Session, settings: Settings, user: User,
                 now: datetime | None = None) -> FeedState:
    """The user's feed, re-rendered; stored validators move only when the bytes change.
    Commits (when anything was stored)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    body = _render(session, settings, user, now)
    etag = strong_etag(body)
    state = session.get(FeedState, user.id)
    if state is None:
        state = FeedState(user_id=user.id, etag=etag, body=body, last_modified=now)
        session.add(state)
        session.commit()
    elif state.etag != etag:
        # HTTP dates have whole seconds: a change within the same second must still move
        # Last-Modified, or If-Modified-Since clients would miss it.
        state.last_modified = max(now, state.last_modified.replace(microsecond=0) + _SECOND)
        state.etag, state.body = etag, body
        session.commit()
    return state


def _render(session: Session, settings: Settings, user: User, now: datetime) -> bytes:
    rows = session.scalars(select(FollowUp).where(FollowUp.user_id == user.id))
    events = [
        FeedEvent(
            uid=row.uid, summary=row.summary, start=row.start, end=row.end,
            channel=row.channel, note=row.note, status=row.status, sequence=row.sequence,
            changed_at=row.changed_at, cancelled_at=row.cancelled_at,
            deal_name=row.deal.name, deal_url=deal_url(settings, row.deal_id),
            answer_url=answer_url(settings, row), kind=row.kind, promise_due=row.promise_due,
            value_note=row.value_note,
        )
        for row in rows
    ]
    return render_feed(feed_events(events, now), calendar_name=f"calsync follow-ups ({user.email})",
                       tz=ZoneInfo(user.timezone), refresh_minutes=REFRESH_MINUTES)


def refresh_all(session: Session, settings: Settings) -> None:
    """Re-render every cached feed, so expired cancellations drop and validators move.
    Each feed is its own unit of work."""
    for user in session.scalars(select(User).join(FeedState, FeedState.user_id == User.id)):
        current_feed(session, settings, user)

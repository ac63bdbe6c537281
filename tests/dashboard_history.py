"""A known history for the dashboard's page, API and browser tests: five deals, their
answered meetings and four follow-ups, placed in the two weeks before this one (in the
user's zone) so every figure is fixed whatever day the tests run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy.orm import Session

from calsync.db import get_db
from calsync.domain.vocabulary import (
    Channel,
    DealStatus,
    FollowUpStatus,
    Outcome,
    PromptStatus,
)
from calsync.models import Deal, FollowUp, Meeting, Prompt, Source, User

_ids = count(1)


@dataclass(frozen=True)
class Weeks:
    last: date  # the Monday of last week, in the user's zone
    before: date  # the Monday of the week before

    def at(self, monday: date, day: int, hour: int, tz: ZoneInfo) -> datetime:
        return datetime.combine(monday + timedelta(days=day), time(hour), tzinfo=tz)


def weeks_for(user: User) -> Weeks:
    today = datetime.now(ZoneInfo(user.timezone)).date()
    monday = today - timedelta(days=today.weekday())
    return Weeks(last=monday - timedelta(weeks=1), before=monday - timedelta(weeks=2))


def seed_history(app: Flask, user: User) -> Weeks:
    """The history the dashboard tests expect:

    - won at touch 3 (Acme) and at touch 1 (Initech), lost at touch 3 (Globex): win rate
      100% at touch 1, none closed at 2, 50% at 3; median touches won 2, lost 3;
    - open deals: Umbrella with 5 touches (2 meetings, 3 follow-ups answered), Hooli with
      none (its prompt waits);
    - meetings answered 1, 1, 3, 3, 1 hours after their end the week before last, and
      2, 3, 4, 1 hours last week: medians 1 h and 2 h 30 min, 2 h over all nine;
    - Umbrella's follow-ups last week: one on time, one late (Monday 10:00, answered on
      Wednesday), one missed; the week before, one on time.
    """
    tz = ZoneInfo(user.timezone)
    weeks = weeks_for(user)
    before, last = weeks.before, weeks.last
    with app.app_context(), get_db().session() as session:
        source = Source(user_id=user.id, kind="ics", name="History", url="", upload=b"",
                        options={}, cursor={}, warnings=[], status="ok")
        session.add(source)
        session.flush()

        def touches(name: str, status: DealStatus,
                    answers: list[tuple[datetime, float, Outcome]]) -> Deal:
            deal = Deal(user_id=user.id, name=name, key=f"domain:{name.lower()}.example",
                        status=status)
            session.add(deal)
            session.flush()
            for ended, hours, outcome in answers:
                _meeting_prompt(session, source, deal, ended, hours, outcome)
            return deal

        step, yes, no = Outcome.NEXT_STEP, Outcome.YES, Outcome.NO
        touches("Acme", DealStatus.WON, [
            (weeks.at(before, 1, 10, tz), 1, step), (weeks.at(before, 3, 10, tz), 1, step),
            (weeks.at(last, 1, 10, tz), 2, yes)])
        touches("Globex", DealStatus.LOST, [
            (weeks.at(before, 1, 11, tz), 3, step), (weeks.at(before, 3, 11, tz), 3, step),
            (weeks.at(last, 1, 11, tz), 3, no)])
        touches("Initech", DealStatus.WON, [(weeks.at(last, 2, 10, tz), 4, yes)])
        umbrella = touches("Umbrella", DealStatus.OPEN, [
            (weeks.at(before, 1, 14, tz), 1, step), (weeks.at(last, 3, 14, tz), 1, step)])
        hooli = touches("Hooli", DealStatus.OPEN, [])
        _meeting_prompt(session, source, hooli, weeks.at(last, 4, 9, tz), None, None)

        monday_ten = weeks.at(last, 0, 10, tz)
        _followup(session, umbrella, monday_ten, answered=weeks.at(last, 0, 11, tz))
        _followup(session, umbrella, monday_ten, answered=weeks.at(last, 2, 12, tz))
        _followup(session, umbrella, weeks.at(last, 3, 10, tz), answered=None)
        _followup(session, umbrella, weeks.at(before, 0, 10, tz),
                  answered=weeks.at(before, 0, 15, tz))
        session.commit()
    return weeks


def _meeting_prompt(session: Session, source: Source, deal: Deal, ended: datetime,
                    hours: float | None, outcome: Outcome | None) -> None:
    """A meeting that ended at `ended` and its prompt, answered `hours` later (None: waiting)."""
    n = next(_ids)
    meeting = Meeting(user_id=deal.user_id, source_id=source.id, uid=f"history-{n}",
                      title=f"{deal.name} call", start=ended - timedelta(hours=1), end=ended,
                      attendees=[])
    session.add(meeting)
    session.flush()
    answered = hours is not None and outcome is not None
    session.add(Prompt(
        user_id=deal.user_id, meeting_id=meeting.id, deal_id=deal.id, touch_at=ended,
        status=PromptStatus.ANSWERED if answered else PromptStatus.PENDING, outcome=outcome,
        answered_at=ended + timedelta(hours=hours) if hours is not None else None,
        created_at=ended))


def _followup(session: Session, deal: Deal, start: datetime, answered: datetime | None) -> None:
    n = next(_ids)
    end = start + timedelta(minutes=30)
    followup = FollowUp(user_id=deal.user_id, deal_id=deal.id, uid=f"history-{n}@calsync",
                        summary=f"Follow-up {n}", start=start, end=end, channel=Channel.CALL,
                        status=FollowUpStatus.PLANNED if answered is None
                        else FollowUpStatus.DONE,
                        created_at=start.astimezone(UTC) - timedelta(days=2))
    session.add(followup)
    session.flush()
    if answered is not None:
        session.add(Prompt(user_id=deal.user_id, followup_id=followup.id, deal_id=deal.id,
                           touch_at=end, status=PromptStatus.ANSWERED,
                           outcome=Outcome.NEXT_STEP, answered_at=answered, created_at=end))

"""A known week for the coach's tests: one Berlin user, Wednesday 13 March 2024 09:00."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from calsync.domain.vocabulary import Channel, DealStatus, FollowUpStatus, Outcome, PromptStatus
from calsync.models import Deal, FollowUp, Prompt

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 3, 13, 9, 0, tzinfo=BERLIN).astimezone(UTC)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@dataclass
class Week:
    acme: Deal  # open, planned today
    beta: Deal  # open, seven touches, nothing planned
    on_time: FollowUp
    missed: FollowUp  # Monday, its prompt waiting
    today: FollowUp


def add_deal(session: Session, user_id: int, name: str) -> Deal:
    deal = Deal(user_id=user_id, name=name, key=name.lower(), status=DealStatus.OPEN)
    session.add(deal)
    session.flush()
    return deal


def add_followup(session: Session, deal: Deal, summary: str, start: datetime) -> FollowUp:
    followup = FollowUp(user_id=deal.user_id, deal_id=deal.id, uid=f"{summary}@test",
                        summary=summary, start=start, end=start + timedelta(minutes=30),
                        channel=Channel.CALL, status=FollowUpStatus.PLANNED)
    session.add(followup)
    session.flush()
    return followup


def add_prompt(session: Session, deal: Deal, touch_at: datetime, *,
            followup: FollowUp | None = None, answered_at: datetime | None = None) -> Prompt:
    prompt = Prompt(user_id=deal.user_id, deal_id=deal.id, touch_at=touch_at,
                    followup_id=followup.id if followup else None,
                    status=PromptStatus.ANSWERED if answered_at else PromptStatus.PENDING,
                    outcome=Outcome.NEXT_STEP if answered_at else None, answered_at=answered_at)
    session.add(prompt)
    return prompt


def make_week(session: Session, user_id: int) -> Week:
    acme, beta = add_deal(session, user_id, "Acme"), add_deal(session, user_id, "Beta")
    on_time = add_followup(session, acme, "Send pricing", local(8, 10))  # Friday
    on_time.status = FollowUpStatus.DONE
    add_prompt(session, acme, on_time.end, followup=on_time, answered_at=local(11, 9))  # Monday
    missed = add_followup(session, acme, "Call about the trial", local(11, 10))
    add_prompt(session, acme, missed.end, followup=missed)
    today = add_followup(session, acme, "Demo for finance", local(13, 15))
    for day in range(1, 8):  # seven answered meetings: past the cadence's suggest_close_after
        add_prompt(session, beta, local(day, 12), answered_at=local(day, 13))
    session.commit()
    return Week(acme=acme, beta=beta, on_time=on_time, missed=missed, today=today)

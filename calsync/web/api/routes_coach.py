"""The daily coach: what is due and missed, why a follow-up was missed, moving a missed one."""

from __future__ import annotations

from calsync.db import get_session
from calsync.domain.coaching import Coaching, DealFact, FollowUpFact, PromptFact
from calsync.services import coach
from calsync.web import current_settings
from calsync.web.api.bodies import MissedReasonIn, RescheduleIn
from calsync.web.api.registry import api_user, route, user_time
from calsync.web.api.schemas import (
    CoachColdOut,
    CoachDealOut,
    CoachFollowUpOut,
    CoachOut,
    CoachPromptOut,
    FollowUpOut,
    PromisesKeptOut,
    WeekRecordOut,
)
from calsync.web.api.serialize import followup_out


@route("/coach", "GET", response=CoachOut)
def get_coach() -> CoachOut:
    """What the daily coach says now: follow-ups due today and missed, prompts waiting,
    open deals gone cold, with no next touch or past the cadence's touches, and the last 7
    days."""
    return coach_out(coach.coaching_for(get_session(), current_settings(), api_user()))


@route("/followups/<int:followup_id>/reason", "POST", response=CoachFollowUpOut,
       body=MissedReasonIn)
def followup_missed_reason(followup_id: int, body: MissedReasonIn) -> CoachFollowUpOut:
    """Say why a follow-up was missed (a second answer replaces the first)."""
    followup = coach.record_missed_reason(get_session(), api_user(), followup_id, body.reason,
                                          body.note)
    return CoachFollowUpOut(
        id=followup.id, deal_id=followup.deal_id, deal_name=followup.deal.name,
        summary=followup.summary, start=followup.start, end=followup.end,
        missed_reason=followup.missed_reason, missed_note=followup.missed_note,
        kind=followup.kind, promise_due=followup.promise_due)


@route("/followups/<int:followup_id>/reschedule", "POST", response=FollowUpOut,
       body=RescheduleIn)
def reschedule_followup(followup_id: int, body: RescheduleIn) -> FollowUpOut:
    """Move a missed follow-up to a new time in one step; answers the new follow-up (the
    missed one is cancelled and stays missed in the record)."""
    return followup_out(coach.reschedule_missed(get_session(), api_user(), followup_id,
                                                user_time(body.start)))


def coach_out(said: Coaching) -> CoachOut:
    record = said.record
    return CoachOut(
        due_today=[_followup(f) for f in said.due_today],
        missed=[_followup(f) for f in said.missed],
        prompts_waiting=[_prompt(p) for p in said.prompts_waiting],
        unplanned_deals=[_deal(d) for d in said.unplanned_deals],
        deals_to_close=[_deal(d) for d in said.deals_to_close],
        record=WeekRecordOut(
            since=record.since, on_time=record.on_time, late=record.late, missed=record.missed,
            reasons={str(reason): count for reason, count in record.reasons.items()},
            explained=[_followup(f) for f in record.explained]),
        promises=PromisesKeptOut.of(said.promises),
        cold=[CoachColdOut(id=d.id, name=d.name, cold_since=d.cold_since) for d in said.cold],
    )


def _followup(fact: FollowUpFact) -> CoachFollowUpOut:
    return CoachFollowUpOut(id=fact.id, deal_id=fact.deal_id, deal_name=fact.deal_name,
                            summary=fact.summary, start=fact.start, end=fact.end,
                            missed_reason=fact.missed_reason, missed_note=fact.missed_note,
                            kind=fact.kind, promise_due=fact.promise_due)


def _prompt(fact: PromptFact) -> CoachPromptOut:
    return CoachPromptOut(id=fact.id, title=fact.title, touch_at=fact.touch_at)


def _deal(fact: DealFact) -> CoachDealOut:
    return CoachDealOut(id=fact.id, name=fact.name, touches=fact.touches,
                        next_touch=fact.next_touch)

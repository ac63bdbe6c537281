"""After a yes: the after-sale touches asked for (or the cadence's), the deal staying won;
after a no for bad timing: a revisit; and the warning before a third touch in a week."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.errors import ValidationFailed
from calsync.models import FollowUp, Prompt, User
from calsync.services import answers
from calsync.services import prompts as inbox
from calsync.services.answers import Answer, NextStep
from tests.test_answers import me, prompts  # noqa: F401  (the fixture)
from tests.test_sync import NOW


def days_after_now(moment: datetime) -> int:
    """Calendar days from NOW to `moment`, in the user's zone."""
    berlin = ZoneInfo("Europe/Berlin")
    return (moment.astimezone(berlin).date() - NOW.astimezone(berlin).date()).days


def planned(session: Session) -> list[FollowUp]:
    return list(session.scalars(select(FollowUp).where(FollowUp.status == "planned")
                                .order_by(FollowUp.start, FollowUp.id)))


def answer(session: Session, settings: Settings, account: User, prompt: Prompt, outcome: str,
           **fields: Any) -> answers.AnswerResult:
    """`account`'s answer to `prompt`, given at NOW."""
    return answers.answer_prompt(session, settings, account, prompt, Answer(outcome, **fields),
                                 now=NOW)


def test_a_yes_plans_the_after_sale_touches_asked_for(db_session, settings, user,
                                                      prompts) -> None:  # noqa: F811
    result = answer(db_session, settings, me(db_session, user), prompts[0], "yes",
                    after_sale=("check_in", "referral", "upsell"))
    assert [f.kind for f in result.planned] == ["check_in", "referral", "upsell"]
    assert prompts[0].deal.status == "won"  # the deal stays won
    check_in, referral, upsell = result.planned
    # 30 and 90 days on, or the next working day after.
    assert 30 <= days_after_now(check_in.start) <= 32 and referral.start == check_in.end
    assert 90 <= days_after_now(upsell.start) <= 92
    assert [f.id for f in planned(db_session)] == [f.id for f in result.planned]
    # Sent again: nothing planned twice.
    again = answer(db_session, settings, me(db_session, user), prompts[0], "yes",
                   after_sale=("check_in", "referral", "upsell"))
    assert again.planned == [] and len(planned(db_session)) == 3


def test_a_yes_without_a_choice_plans_what_the_cadence_ticks(db_session, settings, user,
                                                             prompts) -> None:  # noqa: F811
    account = me(db_session, user)
    account.cadence = {"after_sale": ["upsell"]}
    db_session.commit()
    result = answer(db_session, settings, account, prompts[0], "yes")
    assert [f.kind for f in result.planned] == ["upsell"]
    none = answer(db_session, settings, account, prompts[1], "yes", after_sale=())
    assert none.planned == []


def test_changing_a_yes_to_a_no_drops_the_after_sale_touches(db_session, settings, user,
                                                            prompts) -> None:  # noqa: F811
    account = me(db_session, user)
    answer(db_session, settings, account, prompts[0], "yes", after_sale=("check_in",))
    answer(db_session, settings, account, prompts[0], "no", no_reason="no_budget")
    assert planned(db_session) == []
    [dropped] = db_session.scalars(select(FollowUp))
    assert (dropped.kind, dropped.status) == ("check_in", "cancelled")


def test_a_changed_answer_keeps_only_the_touches_it_still_asks_for(
        db_session, settings, user, prompts) -> None:  # noqa: F811
    account = me(db_session, user)
    account.cadence = {"after_sale": ["check_in"]}
    db_session.commit()

    def answer_first(outcome: str, **fields: object) -> answers.AnswerResult:
        return answer(db_session, settings, account, prompts[0], outcome, **fields)

    answer_first("yes", after_sale=("check_in", "upsell"))
    assert [f.kind for f in planned(db_session)] == ["check_in", "upsell"]
    assert answer_first("yes", after_sale=()).planned == [] and planned(db_session) == []
    answer_first("yes", after_sale=("check_in", "upsell"))
    answer_first("yes")  # absent: the cadence's ticks, and only those
    assert [f.kind for f in planned(db_session)] == ["check_in"]
    answer_first("no", no_reason="bad_timing")
    assert [f.kind for f in planned(db_session)] == ["revisit"]
    answer_first("no", no_reason="bad_timing", revisit=False)
    assert planned(db_session) == []
    answer_first("no", no_reason="bad_timing")
    answer_first("no", no_reason="other")
    assert planned(db_session) == []


def test_a_first_answer_leaves_touches_another_answer_planned(db_session, settings, user,
                                                              prompts) -> None:  # noqa: F811
    account = me(db_session, user)
    answer(db_session, settings, account, prompts[0], "yes", after_sale=("check_in",))
    answer(db_session, settings, account, prompts[1], "yes", after_sale=())
    assert [f.kind for f in planned(db_session)] == ["check_in"]


def test_after_sale_is_only_for_a_yes_and_known_touches(db_session, settings, user,
                                                        prompts) -> None:  # noqa: F811
    account = me(db_session, user)
    with pytest.raises(ValidationFailed) as refused:
        answer(db_session, settings, account, prompts[0], "no", after_sale=("check_in",))
    assert refused.value.field == "after_sale"
    with pytest.raises(ValidationFailed):
        answer(db_session, settings, account, prompts[0], "yes", after_sale=("revisit",))


def test_a_no_for_bad_timing_plans_a_revisit(db_session, settings, user,
                                             prompts) -> None:  # noqa: F811
    account = me(db_session, user)
    result = answer(db_session, settings, account, prompts[0], "no", no_reason="bad_timing")
    [revisit] = result.planned
    assert revisit.kind == "revisit" and 91 <= days_after_now(revisit.start) <= 93
    assert prompts[0].deal.status == "lost"
    # The revisit comes back as a prompt like any follow-up.
    later = revisit.end + timedelta(minutes=settings.prompt_grace_minutes)
    assert inbox.create_due_prompts(db_session, settings, later, user_id=user.id) == 1
    asked = db_session.scalar(select(Prompt).where(Prompt.followup_id == revisit.id))
    assert asked is not None and asked.deal_id == prompts[0].deal_id


def test_a_no_for_bad_timing_may_skip_the_revisit(db_session, settings, user,
                                                  prompts) -> None:  # noqa: F811
    result = answer(db_session, settings, me(db_session, user), prompts[0], "no",
                    no_reason="bad_timing", revisit=False)
    assert result.planned == [] and planned(db_session) == []


def test_a_third_follow_up_within_a_week_is_warned(db_session, settings, user,
                                                   prompts) -> None:  # noqa: F811
    account = me(db_session, user)

    def plan(prompt: Prompt, days: int) -> answers.AnswerResult:
        step = NextStep(f"Touch in {days} days", NOW + timedelta(days=days), 30, "email")
        return answers.answer_prompt(db_session, settings, account, prompt,
                                     Answer("next_step", next_step=step), now=NOW)

    # The meetings were their answers; the follow-ups since then are what pester.
    assert "third touch" not in (plan(prompts[0], 3).warning or "")
    assert "third touch" not in (plan(prompts[1], 5).warning or "")
    # Said while the time is picked, before it is planned (the form's live check).
    before = answers.clash_for(db_session, account, prompts[2], NOW + timedelta(days=7), 30)
    assert before is not None and "third touch within 7 days" in before
    assert answers.clash_for(db_session, account, prompts[2], NOW + timedelta(days=11),
                             30) is None
    third = plan(prompts[2], 7)
    assert third.followup is not None and third.followup.status == "planned"  # planned anyway
    assert third.warning is not None and "third touch within 7 days" in third.warning
    # Moved ten days on, it is no longer the third within a week.
    assert "third touch" not in (plan(prompts[2], 11).warning or "")

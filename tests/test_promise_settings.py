"""The cadence's promise and after-sale settings through the settings service: saved as the
user's changes, refused in the form's words."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from calsync.models import User
from calsync.services import cadences
from calsync.services import settings as settings_service
from calsync.services.settings import CadenceChoices


def _as_shown(settings) -> CadenceChoices:  # type: ignore[no-untyped-def]
    base = cadences.base_cadence(settings)
    return CadenceChoices(
        gaps_days=", ".join(str(g) for g in base.gaps_days), usual_low=base.usual_touches[0],
        usual_high=base.usual_touches[1], suggest_close_after=base.suggest_close_after,
        min_gap_days=base.min_gap_days, usual_hour=base.usual_hour,
        usual_minute=base.usual_minute, working_days=base.to_mapping()["working_days"],
        default_channel=base.default_channel,
        default_duration_minutes=base.default_duration_minutes)


def test_promise_and_after_sale_choices_are_saved(db_session: Session, settings,  # type: ignore[no-untyped-def]
                                                  user: User) -> None:
    account = db_session.get(User, user.id)
    assert account is not None
    choices = replace(_as_shown(settings), promise_margin_days=2, follow_through_days=3,
                      after_sale=["check_in", "upsell"], upsell_days=60, revisit_days=120)
    settings_service.save_cadence(db_session, settings, account, choices)
    assert account.cadence == {"promise_margin_days": 2, "follow_through_days": 3,
                               "after_sale": ["check_in", "upsell"], "upsell_days": 60,
                               "revisit_days": 120}
    cadence = cadences.cadence_for(account, settings)
    assert (cadence.promise_margin_days, cadence.check_in_days) == (2, 30)
    # Left out, they keep the shared values: nothing is stored.
    settings_service.save_cadence(db_session, settings, account, _as_shown(settings))
    assert account.cadence is None


def test_bad_promise_settings_are_refused_in_the_forms_words(settings) -> None:  # type: ignore[no-untyped-def]
    choices = replace(_as_shown(settings), follow_through_days=0, check_in_days=1000,
                      after_sale=["revisit"])
    problems = {p.field: p.message for p in settings_service.cadence_problems(settings,
                                                                               choices)}
    assert problems == {
        "follow_through_days": "Follow through 1 to 30 working days after delivering.",
        "check_in_days": "Check in 1 to 730 days after a yes.",
        "after_sale": "Tick any of the check-in, the referral ask and the up-sell review."}

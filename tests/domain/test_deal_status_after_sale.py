"""The deal-status rule for touches of a won deal: after-sale answers never reopen or close it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calsync.domain.cadence import Cadence, suggest_next
from calsync.domain.deals import deal_status, decides_status, deciding_answer
from calsync.domain.vocabulary import DealStatus, FollowUpKind

T0 = datetime(2026, 12, 2, 9, tzinfo=UTC)
AFTER_SALE = (FollowUpKind.CHECK_IN, FollowUpKind.REFERRAL, FollowUpKind.UPSELL)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.mark.parametrize("kind", AFTER_SALE)
@pytest.mark.parametrize("outcome", ["yes", "no", "next_step"])
def test_an_after_sale_answer_leaves_a_won_deal_won(kind: FollowUpKind, outcome: str) -> None:
    answers = [(at(0), "yes"), (at(700), outcome)]
    assert deal_status(answers, [None, kind]) == "won"
    assert deciding_answer(answers, [None, kind]) == 0  # the yes still decides (deal.won)


def test_a_follow_through_decides_while_open_but_not_after_a_win() -> None:
    through = FollowUpKind.FOLLOW_THROUGH
    assert deal_status([(at(0), "next_step"), (at(5), "no")], [None, through]) == "lost"
    assert deal_status([(at(0), "yes"), (at(5), "no")], [None, through]) == "won"
    assert deal_status([(at(0), "yes"), (at(5), "next_step")], [None, through]) == "won"


def test_a_revisit_decides_like_a_selling_touch() -> None:
    revisit = FollowUpKind.REVISIT
    lost = [(at(0), "no")]
    assert deal_status([*lost, (at(9), "next_step")], [None, revisit]) == "open"
    assert deal_status([*lost, (at(9), "yes")], [None, revisit]) == "won"
    assert deal_status([*lost, (at(9), "no")], [None, revisit]) == "lost"


def test_a_later_meeting_still_decides_after_after_sale_touches() -> None:
    answers = [(at(0), "yes"), (at(5), "no"), (at(9), "no")]
    assert deal_status(answers, [None, FollowUpKind.CHECK_IN, None]) == "lost"
    assert deciding_answer(answers, [None, FollowUpKind.CHECK_IN, None]) == 2


def test_no_kinds_given_is_the_old_rule() -> None:
    assert deal_status([(at(0), "yes"), (at(5), "no")]) == "lost"


def test_decides_status_table() -> None:
    for kind in AFTER_SALE:
        assert not any(decides_status(kind, status) for status in DealStatus)
    assert all(decides_status(None, status) for status in DealStatus)
    assert decides_status(FollowUpKind.FOLLOW_THROUGH, DealStatus.OPEN)
    assert not decides_status(FollowUpKind.FOLLOW_THROUGH, DealStatus.WON)


def test_an_after_sale_suggestion_counts_no_sales_touches() -> None:
    last = datetime(2026, 12, 2, 15, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")
    sale = suggest_next(Cadence(), 3, last, "email", berlin, last + timedelta(hours=1))
    assert sale.message.startswith("Touch 4 of a usual 5-7")
    after = suggest_next(Cadence(), 9, last, "email", berlin, last + timedelta(hours=1),
                         after_sale=True)
    assert "usual" not in after.message and "close" not in after.message
    assert after.message.startswith("The deal is won; if there is more to do, follow up by "
                                    "email")
    assert not after.suggest_close

"""The coach names a deal without a next touch once: gone cold, under "Going cold" only;
"ask for a definite answer" is other advice and stays."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from calsync.domain.cadence import Cadence
from calsync.domain.coaching import ColdDeal, DealFact, coach
from calsync.domain.vocabulary import DealStatus

NOW = datetime(2026, 12, 1, 15, tzinfo=UTC)


def test_a_cold_deal_is_not_also_unplanned() -> None:
    quiet = DealFact(1, "Quiet", DealStatus.OPEN, touches=8, next_touch=None)
    fresh = DealFact(2, "Fresh", DealStatus.OPEN, touches=1, next_touch=None)
    cold = [ColdDeal(1, "Quiet", datetime(2026, 11, 30, 9, tzinfo=UTC))]
    said = coach([], [], [quiet, fresh], Cadence(), ZoneInfo("Europe/Berlin"), NOW, cold)
    assert [d.name for d in said.unplanned_deals] == ["Fresh"]
    assert said.cold == tuple(cold)
    assert [d.name for d in said.deals_to_close] == ["Quiet"]  # still: ask for a yes or no

    warm = coach([], [], [quiet, fresh], Cadence(), ZoneInfo("Europe/Berlin"), NOW)
    assert [d.name for d in warm.unplanned_deals] == ["Fresh", "Quiet"]

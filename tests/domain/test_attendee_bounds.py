"""A meeting keeps a bounded number of attendees, chosen so the prompting rules and the
deal's counterpart come out as they would with all of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calsync.domain.deals import counterpart_of
from calsync.domain.meeting import Attendee, MeetingData, keep_attendees
from calsync.domain.prompting import PromptRules, prompt_decision

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
ME = "ana@acme.com"


def meeting(people: list[Attendee]) -> MeetingData:
    return MeetingData(uid="big", recurrence_id="", title="Quarterly review",
                       start=NOW - timedelta(hours=2), end=NOW - timedelta(hours=1),
                       attendees=tuple(people), organizer=ME)


def colleagues(count: int) -> list[Attendee]:
    return [Attendee(f"c{n}@acme.com") for n in range(count)]


def test_one_outsider_among_hundreds_of_colleagues_is_kept() -> None:
    full = meeting([*colleagues(300), Attendee("buyer@prospect.example")])
    kept = full.bounded(10, frozenset({ME}))
    assert len(kept.attendees) == 10 and kept.attendee_count == 301
    assert kept.listed_attendees == 301
    rules = PromptRules(user_email=ME)
    assert prompt_decision(kept, rules, NOW) == prompt_decision(full, rules, NOW)
    assert prompt_decision(kept, rules, NOW).prompt
    assert counterpart_of(kept, rules) == counterpart_of(full, rules)


def test_only_colleagues_stays_internal() -> None:
    full = meeting(colleagues(300))
    kept = full.bounded(10, frozenset({ME}))
    assert prompt_decision(kept, PromptRules(user_email=ME), NOW).reason == "internal_only"


def test_the_owner_declining_far_down_the_list_still_counts() -> None:
    full = meeting([*colleagues(200), Attendee("buyer@prospect.example"),
                    Attendee(ME.upper(), response="declined")])
    kept = full.bounded(5, frozenset({ME}))
    assert prompt_decision(kept, PromptRules(user_email=ME), NOW).reason == "declined"


def test_every_domain_stays_so_later_internal_domains_judge_right() -> None:
    # The user later says partner.example is internal too: the outsider must still be there.
    people = [*colleagues(100), *[Attendee(f"p{n}@partner.example") for n in range(100)],
              Attendee("cfo@prospect.example")]
    kept = meeting(people).bounded(8, frozenset({ME}))
    assert {a.domain for a in kept.attendees} == {"acme.com", "partner.example",
                                                   "prospect.example"}
    rules = PromptRules(user_email=ME, internal_domains=frozenset({"partner.example"}))
    assert prompt_decision(kept, rules, NOW).prompt


def test_the_most_represented_company_stays_the_counterpart() -> None:
    people = [*[Attendee(f"a{n}@zeta.example") for n in range(40)],
              *[Attendee(f"b{n}@alpha.example") for n in range(39)]]
    full = meeting(people)
    rules = PromptRules(user_email=ME)
    for limit in range(1, 12):
        kept = full.bounded(limit, lead="zeta.example")
        assert counterpart_of(kept, rules).key == "domain:zeta.example", limit


def test_kept_people_stay_in_listed_order_and_small_lists_are_untouched() -> None:
    people = (Attendee("x@one.example"), Attendee("y@two.example"), Attendee("z@one.example"))
    assert keep_attendees(people, 3) is people
    assert keep_attendees(people, 2) == (people[0], people[1])
    small = meeting(list(people))
    assert small.bounded(3) is small and small.attendee_count == 0

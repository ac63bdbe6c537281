"""Deal grouping (counterparts, title normalisation) and deal status from outcomes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from calsync.domain.deals import (
    CHANNELS,
    NO_REASONS,
    OUTCOMES,
    Counterpart,
    counterpart_of,
    deal_status,
    normalise_title,
)
from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.prompting import PromptRules

USER = "ann@seller.com"
RULES = PromptRules(user_email=USER)
T0 = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)


def meeting(*emails: str, title: str = "Acme demo", organizer: str = USER) -> MeetingData:
    return MeetingData(
        uid="evt-1",
        recurrence_id="",
        title=title,
        start=T0,
        end=T0 + timedelta(hours=1),
        attendees=tuple(Attendee(e) for e in emails),
        organizer=organizer,
        series_uid="series-1",
    )


# --- counterparts -----------------------------------------------------------------------


def test_groups_by_the_external_domain() -> None:
    m = meeting(USER, "bob@acme.com", "carl@seller.com")
    assert counterpart_of(m, RULES) == Counterpart("domain:acme.com", "Acme")


def test_the_most_common_external_domain_wins() -> None:
    m = meeting(USER, "x@partner.io", "bob@acme.com", "eve@ACME.com")
    assert counterpart_of(m, RULES).key == "domain:acme.com"


def test_a_domain_tie_goes_to_the_alphabetically_first_whatever_the_order() -> None:
    emails = ["bob@zeta.com", "eve@acme.com", "kim@mid.org"]
    for order in itertools.permutations(emails):
        assert counterpart_of(meeting(USER, *order), RULES).key == "domain:acme.com"


def test_a_company_domain_beats_private_addresses() -> None:
    m = meeting(USER, "a@gmail.com", "b@gmail.com", "bob@acme.com")
    assert counterpart_of(m, RULES).key == "domain:acme.com"


def test_a_public_domain_prospect_is_their_own_counterpart() -> None:
    bob = meeting(USER, "Bob@Gmail.com")
    assert counterpart_of(bob, RULES) == Counterpart("email:bob@gmail.com", "Bob")
    assert counterpart_of(meeting(USER, "eve@gmail.com"), RULES).key == "email:eve@gmail.com"


def test_a_public_domain_counterpart_is_named_after_the_person() -> None:
    m = MeetingData(
        uid="u", recurrence_id="", title="Intro", start=T0, end=T0,
        attendees=(Attendee(USER), Attendee("bob@gmail.com", name="Bob Baker")),
    )  # fmt: skip
    assert counterpart_of(m, RULES) == Counterpart("email:bob@gmail.com", "Bob Baker")


def test_several_public_addresses_pick_the_alphabetically_first() -> None:
    for order in itertools.permutations(["zed@gmail.com", "amy@web.de", "kim@icloud.com"]):
        assert counterpart_of(meeting(USER, *order), RULES).key == "email:amy@web.de"


def test_an_external_organizer_alone_is_the_counterpart() -> None:
    m = meeting(USER, "carl@seller.com", organizer="boss@acme.com")
    assert counterpart_of(m, RULES).key == "domain:acme.com"


def test_a_gmail_user_groups_other_gmail_people_by_address() -> None:
    rules = PromptRules(user_email="me@gmail.com")
    m = meeting("me@gmail.com", "bob@gmail.com", organizer="me@gmail.com")
    assert counterpart_of(m, rules).key == "email:bob@gmail.com"


def test_an_attendee_less_event_groups_by_its_title() -> None:
    m = meeting(title="Acme demo #2", organizer="")
    assert counterpart_of(m, RULES) == Counterpart("title:acme demo", "Acme demo")


def test_an_event_with_only_colleagues_groups_by_title() -> None:
    m = meeting(USER, "carl@seller.com", title="Re: ACME Demo")
    assert counterpart_of(m, RULES) == Counterpart("title:acme demo", "ACME Demo")


def test_numbered_titles_land_in_the_same_deal() -> None:
    keys = {
        counterpart_of(meeting(title=t, organizer=""), RULES).key
        for t in ["Acme demo #2", "ACME Demo", "Fwd: Acme demo", "Acme demo (May 12)"]
    }
    assert keys == {"title:acme demo"}


def test_a_title_with_nothing_left_groups_by_its_series() -> None:
    m = meeting(title="#3", organizer="")
    assert counterpart_of(m, RULES) == Counterpart("event:series-1", "#3")
    untitled = MeetingData(uid="u-9", recurrence_id="", title="  ", start=T0, end=T0)
    assert counterpart_of(untitled, RULES) == Counterpart("event:u-9", "Untitled meeting")


# --- title normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Acme demo #2", "acme demo"),
        ("ACME Demo", "acme demo"),
        ("  Acme   demo  ", "acme demo"),
        ("Re: Acme demo", "acme demo"),
        ("RE: Fwd: FW: Acme demo", "acme demo"),
        ("Follow-up: Acme demo", "acme demo"),
        ("Follow up: Acme demo", "acme demo"),
        ("Invitation: Acme demo", "acme demo"),
        ("Call with Acme", "acme"),
        ("Meeting with Acme", "acme"),
        ("2nd call with Acme", "acme"),
        ("Acme - follow up", "acme"),
        ("Acme demo 3rd", "acme demo"),
        ("Acme demo part 2", "acme demo"),
        ("Acme demo v2", "acme demo"),
        ("Acme demo no. 3", "acme demo"),
        ("Acme demo - May 12", "acme demo"),
        ("Acme demo, Tue 14 May 2024", "acme demo"),
        ("Acme demo 12th of March", "acme demo"),
        ("Acme demo 2024-05-12", "acme demo"),
        ("Acme demo (12.05.)", "acme demo"),
        ("Acme / Demo!", "acme demo"),
        ("Bob's demo", "bobs demo"),
        ("Bob\u2019s demo", "bobs demo"),
        ("Café Müller pitch", "café müller pitch"),
        ("Re-org review", "re org review"),
        ("Maybe Acme", "maybe acme"),
        ("#3", ""),
        ("", ""),
    ],
)
def test_normalise_title(title: str, expected: str) -> None:
    assert normalise_title(title) == expected


def test_normalise_title_is_idempotent_property() -> None:
    titles = ["Re: Acme demo #2", "Call with Bob's team (May 3)", "1:1", "Fwd: follow-up: X"]
    for title in titles:
        once = normalise_title(title)
        assert normalise_title(once) == once
        assert once == once.strip() and "  " not in once
        assert not any(ch.isdigit() for ch in once)


# --- deal status ------------------------------------------------------------------------


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def test_no_answers_is_open() -> None:
    assert deal_status([]) == "open"


@pytest.mark.parametrize(
    ("outcome", "status"), [("yes", "won"), ("no", "lost"), ("next_step", "open")]
)
def test_a_single_answer(outcome: str, status: str) -> None:
    assert deal_status([(at(0), outcome)]) == status


def test_next_steps_keep_a_deal_open_until_a_definite_answer() -> None:
    steps = [(at(h), "next_step") for h in range(6)]
    assert deal_status(steps) == "open"
    assert deal_status([*steps, (at(7), "yes")]) == "won"


def test_a_later_yes_after_a_no_wins_the_deal() -> None:
    assert deal_status([(at(0), "next_step"), (at(1), "no"), (at(2), "yes")]) == "won"


def test_a_changed_answer_after_a_yes_loses_it() -> None:
    assert deal_status([(at(0), "yes"), (at(5), "no")]) == "lost"


def test_the_latest_by_time_decides_not_the_order_given() -> None:
    assert deal_status([(at(2), "yes"), (at(1), "no")]) == "won"
    assert deal_status([(at(9), "next_step"), (at(1), "no")]) == "open"


def test_on_equal_times_the_later_entry_wins() -> None:
    assert deal_status([(at(1), "no"), (at(1), "yes")]) == "won"
    assert deal_status([(at(1), "yes"), (at(1), "no")]) == "lost"


def test_the_status_matches_the_latest_for_every_short_sequence_property() -> None:
    expected = {"yes": "won", "no": "lost", "next_step": "open"}
    for length in range(1, 5):
        for outcomes in itertools.product(OUTCOMES, repeat=length):
            answers = [(at(i), o) for i, o in enumerate(outcomes)]
            assert deal_status(answers) == expected[outcomes[-1]]
            assert deal_status(list(reversed(answers))) == expected[outcomes[-1]]


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="maybe"):
        deal_status([(at(0), "maybe")])


def test_the_vocabularies() -> None:
    assert OUTCOMES == ("yes", "no", "next_step")
    assert NO_REASONS == ("not_interested", "no_budget", "chose_competitor", "bad_timing", "other")
    assert CHANNELS == ("call", "email", "meeting", "visit", "other")

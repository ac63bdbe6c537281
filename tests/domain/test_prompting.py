"""Which meetings get a prompt: every rule, its boundaries, and the people it counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.prompting import (
    DEFAULT_SKIP_KEYWORDS,
    PUBLIC_MAIL_DOMAINS,
    Decision,
    PromptRules,
    external_people,
    is_internal,
    matched_keyword,
    prompt_decision,
)

USER = "ann@seller.com"
RULES = PromptRules(user_email=USER)
END = datetime(2024, 5, 14, 11, 0, tzinfo=UTC)
NOW = END + timedelta(hours=1)


def meeting(
    title: str = "Acme demo",
    attendees: tuple[Attendee, ...] = (
        Attendee(USER, response="accepted"),
        Attendee("bob@acme.com"),
    ),
    organizer: str = USER,
    **changes: object,
) -> MeetingData:
    base = MeetingData(
        uid="evt-1",
        recurrence_id="",
        title=title,
        start=END - timedelta(hours=1),
        end=END,
        attendees=attendees,
        organizer=organizer,
    )
    return replace(base, **changes)


def decide(m: MeetingData, rules: PromptRules = RULES, now: datetime = NOW) -> Decision:
    return prompt_decision(m, rules, now)


# --- the plain rules --------------------------------------------------------------------


def test_an_ended_meeting_with_a_prospect_is_prompted() -> None:
    assert decide(meeting()) == Decision(True, "ok")


def test_all_day_events_are_not_prompted() -> None:
    assert decide(meeting(all_day=True)).reason == "all_day"


@pytest.mark.parametrize("status", ["cancelled", "CANCELLED"])
def test_cancelled_events_are_not_prompted(status: str) -> None:
    assert decide(meeting(status=status)) == Decision(False, "cancelled")


def test_tentative_events_are_prompted() -> None:
    assert decide(meeting(status="tentative")).prompt


def test_meetings_the_user_declined_are_not_prompted() -> None:
    declined = (Attendee("ANN@seller.com", response="declined"), Attendee("bob@acme.com"))
    assert decide(meeting(attendees=declined)) == Decision(False, "declined")


def test_a_decline_is_found_under_a_mailto_address() -> None:
    declined = (Attendee(f"mailto:{USER}", response="DECLINED"), Attendee("bob@acme.com"))
    assert decide(meeting(attendees=declined)).reason == "declined"


def test_a_prospect_declining_does_not_stop_the_prompt() -> None:
    attendees = (Attendee(USER, response="accepted"), Attendee("bob@acme.com", response="declined"))
    assert decide(meeting(attendees=attendees)).prompt


def test_the_first_failing_rule_is_the_reason() -> None:
    everything_wrong = meeting(title="Lunch", all_day=True, status="cancelled")
    assert decide(everything_wrong).reason == "all_day"


# --- grace and lookback boundaries ------------------------------------------------------


def test_a_meeting_still_running_is_not_ended() -> None:
    assert decide(meeting(), now=END - timedelta(minutes=5)).reason == "not_ended"


def test_grace_boundary_is_inclusive() -> None:
    assert decide(meeting(), now=END + timedelta(minutes=10)).prompt
    assert decide(meeting(), now=END + timedelta(minutes=10, seconds=-1)).reason == "not_ended"


def test_grace_can_be_zero() -> None:
    rules = replace(RULES, grace=timedelta(0))
    assert decide(meeting(), rules, now=END).prompt


def test_lookback_boundary_is_inclusive() -> None:
    assert decide(meeting(), now=END + timedelta(days=14)).prompt
    assert decide(meeting(), now=END + timedelta(days=14, seconds=1)) == Decision(False, "too_old")


def test_lookback_is_configurable() -> None:
    rules = replace(RULES, lookback=timedelta(days=1))
    assert decide(meeting(), rules, now=END + timedelta(days=2)).reason == "too_old"


def test_times_in_other_zones_compare_as_instants() -> None:
    from zoneinfo import ZoneInfo

    local_now = (END + timedelta(minutes=11)).astimezone(ZoneInfo("Asia/Kolkata"))
    assert decide(meeting(), now=local_now).prompt


def test_every_minute_around_the_window_property() -> None:
    for minutes in range(-30, 60 * 24 * 15, 37):
        now = END + timedelta(minutes=minutes)
        expected = timedelta(minutes=10) <= now - END <= timedelta(days=14)
        assert decide(meeting(), now=now).prompt is expected, minutes


# --- who is internal --------------------------------------------------------------------


def test_colleagues_only_is_internal_only() -> None:
    attendees = (Attendee(USER), Attendee("carl@seller.com"), Attendee("dee@SELLER.com"))
    assert decide(meeting(attendees=attendees)) == Decision(False, "internal_only")


def test_extra_internal_domains_and_their_subdomains_count() -> None:
    rules = replace(RULES, internal_domains=frozenset({"seller-group.de"}))
    attendees = (Attendee(USER), Attendee("eve@seller-group.de"), Attendee("fay@eu.seller.com"))
    assert decide(meeting(attendees=attendees), rules).reason == "internal_only"
    assert is_internal("gus@sales.seller-group.de", rules)
    assert not is_internal("gus@notseller-group.de", rules)


def test_an_event_whose_only_attendee_is_the_user_lists_people() -> None:
    assert decide(meeting(attendees=(Attendee(USER),))).reason == "internal_only"


def test_an_event_listing_nobody_is_prompted() -> None:
    assert decide(meeting(attendees=(), organizer="")).prompt


def test_an_event_listing_only_the_user_as_organizer_is_prompted() -> None:
    # Feeds that drop attendees still stamp the owner as organizer.
    assert decide(meeting(attendees=(), organizer=f"mailto:{USER.upper()}")).prompt


def test_an_organizer_only_external_is_enough() -> None:
    attendees = (Attendee(USER), Attendee("carl@seller.com"))
    m = meeting(attendees=attendees, organizer="bob@acme.com")
    assert decide(m).prompt
    assert [p.email for p in external_people(m, RULES)] == ["bob@acme.com"]


def test_an_internal_organizer_alone_lists_people() -> None:
    assert decide(meeting(attendees=(), organizer="carl@seller.com")).reason == "internal_only"


def test_rooms_and_shared_calendars_are_not_people() -> None:
    room = Attendee("c_188abc@resource.calendar.google.com", name="Room 4")
    attendees = (Attendee(USER), Attendee("carl@seller.com"), room)
    assert decide(meeting(attendees=attendees)).reason == "internal_only"
    assert decide(meeting(attendees=(room,), organizer="")).prompt


def test_a_gmail_user_has_only_their_own_address_internal() -> None:
    rules = PromptRules(user_email="solo.seller@gmail.com")
    assert is_internal("Solo.Seller@gmail.com", rules)
    assert not is_internal("prospect@gmail.com", rules)
    attendees = (Attendee("solo.seller@gmail.com"), Attendee("prospect@gmail.com"))
    assert decide(meeting(attendees=attendees, organizer=""), rules).prompt


def test_a_public_domain_listed_as_internal_is_still_public() -> None:
    rules = replace(RULES, internal_domains=frozenset({"gmail.com"}))
    assert not is_internal("anyone@gmail.com", rules)


@pytest.mark.parametrize(
    "domain",
    ["gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
     "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net",
     "web.de"],
)  # fmt: skip
def test_public_mail_domains_are_listed(domain: str) -> None:
    assert domain in PUBLIC_MAIL_DOMAINS
    assert not is_internal(f"x@{domain}", PromptRules(user_email=f"me@{domain}"))


def test_external_people_are_deduped_by_address_keeping_the_first() -> None:
    attendees = (
        Attendee(USER),
        Attendee("Bob@Acme.com", name="Bob"),
        Attendee("bob@acme.com", name="Bobby"),
        Attendee("carl@seller.com"),
        Attendee("", name="no address"),
        Attendee("mailto:zed@zeta.io"),
    )
    people = external_people(meeting(attendees=attendees, organizer="BOB@acme.com"), RULES)
    assert [(p.email, p.name) for p in people] == [
        ("Bob@Acme.com", "Bob"),
        ("mailto:zed@zeta.io", ""),
    ]


def test_user_email_compares_case_and_mailto_insensitively() -> None:
    rules = PromptRules(user_email="Ann@Seller.com")
    assert is_internal("mailto:ann@seller.COM", rules)
    assert is_internal("carl@seller.com", rules)


# --- keywords ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "keyword"),
    [
        ("Lunch with Acme", "lunch"),
        ("LUNCH", "lunch"),
        ("team lunch!", "lunch"),
        ("Focus", "focus"),
        ("OOO - Ann", "ooo"),
        ("Out  of\toffice", "out of office"),
        ("Busy", "busy"),
        ("Dentist (Dr. Who)", "dentist"),
        ("gym", "gym"),
        ("Holiday in Crete", "holiday"),
    ],
)
def test_keywords_skip_as_whole_words_ignoring_case(title: str, keyword: str) -> None:
    attendees = (Attendee(USER), Attendee("bob@acme.com"))
    assert decide(meeting(title=title, attendees=attendees)) == Decision(False, "keyword", keyword)


@pytest.mark.parametrize(
    "title",
    ["Launch plan", "Lunchbox pitch", "Refocus the roadmap", "Busyness review", "Blockchain demo",
     "Gymnasium tour", "Acme demo", "Outlook of office market", "Zoooom call"],
)  # fmt: skip
def test_words_that_only_contain_a_keyword_are_prompted(title: str) -> None:
    decision = decide(meeting(title=title))
    assert decision.prompt, (title, decision)


def test_custom_keywords_replace_the_defaults_and_may_hold_punctuation() -> None:
    rules = replace(RULES, skip_keywords=("1:1", "Internal Sync", "  "))
    assert decide(meeting(title="1:1 Ann / Carl"), rules) == Decision(False, "keyword", "1:1")
    assert decide(meeting(title="internal   sync"), rules).detail == "Internal Sync"
    assert decide(meeting(title="Lunch with Acme"), rules).prompt
    assert decide(meeting(title="11:15 call"), rules).prompt


def test_matched_keyword_reports_the_first_in_order() -> None:
    assert matched_keyword("Lunch then gym", DEFAULT_SKIP_KEYWORDS) == "lunch"
    assert matched_keyword("", DEFAULT_SKIP_KEYWORDS) is None


def test_internal_only_comes_before_keyword() -> None:
    attendees = (Attendee(USER), Attendee("carl@seller.com"))
    assert decide(meeting(title="Lunch", attendees=attendees)).reason == "internal_only"


def test_the_calendar_owner_is_known_by_is_self_whatever_their_address() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    owner = Attendee("ana.personal@gmail.com", response="declined", is_self=True)
    buyer = Attendee("buyer@prospect.example", response="accepted")
    declined = MeetingData(uid="u", recurrence_id="", title="Demo", start=now - timedelta(hours=2),
                           end=now - timedelta(hours=1), attendees=(owner, buyer))
    rules = PromptRules(user_email="ana@acme-sales.com")
    assert prompt_decision(declined, rules, now).reason == "declined"
    accepted = MeetingData(uid="u", recurrence_id="", title="Standup",
                           start=now - timedelta(hours=2), end=now - timedelta(hours=1),
                           attendees=(Attendee("ana.personal@gmail.com", response="accepted",
                                               is_self=True),
                                      Attendee("bo@acme-sales.com")))
    assert prompt_decision(accepted, rules, now).reason == "internal_only"


def test_the_calendar_owners_own_domain_is_internal() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    meeting = MeetingData(uid="u", recurrence_id="", title="Pipeline review",
                          start=now - timedelta(hours=2), end=now - timedelta(hours=1),
                          attendees=(Attendee("seller@corp.example", is_self=True),
                                     Attendee("lead@corp.example")))
    rules = PromptRules(user_email="ana@gmail.com")  # signed up with a private address
    assert prompt_decision(meeting, rules, now).reason == "internal_only"
    with_buyer = replace(meeting, attendees=(*meeting.attendees,
                                             Attendee("buyer@prospect.example")))
    assert prompt_decision(with_buyer, rules, now).prompt

"""Deals are named like organisations ("contoso.example" gives "Contoso"), a free-mail
counterpart after the person; what "overdue" means; the list's orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calsync.domain.deals import (
    DealSort,
    counterpart_of,
    is_overdue,
    organisation_name,
    person_name,
)
from calsync.domain.meeting import Attendee, MeetingData
from calsync.domain.prompting import PromptRules
from calsync.domain.vocabulary import DealStatus

USER = "ann@seller.com"
T0 = datetime(2026, 5, 14, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("domain", "name"), [
    ("contoso.example", "Contoso"),
    ("acme.com", "Acme"),
    ("northwind-traders.com", "Northwind Traders"),
    ("sales.northwind-traders.co.uk", "Northwind Traders"),
    ("www.acme.com", "Acme"),
    ("mail.eu.acme.io", "Acme"),
    ("acme.co.uk", "Acme"),
    ("acme.com.au", "Acme"),
    ("acme.org.uk", "Acme"),
    ("acme.co.jp", "Acme"),
    ("acme.com.br", "Acme"),
    ("acme.ac.uk", "Acme"),
    ("acme.co.nz", "Acme"),
    ("acme.gov.uk", "Acme"),
    ("acme.co", "Acme"),  # .co alone is a country's suffix: acme is the name
    ("acme.de", "Acme"),
    ("ACME.COM", "Acme"),
    ("acme.com.", "Acme"),  # a fully qualified name's trailing dot
    ("fabrikam-north-america.example", "Fabrikam North America"),
    ("3m.com", "3m"),
    ("xn--mnchen-3ya.de", "München"),  # an internationalised domain, as its letters
    ("sales.xn--mnchen-3ya.co.uk", "München"),
])
def test_a_company_is_named_after_its_domain(domain: str, name: str) -> None:
    assert organisation_name(domain) == name


@pytest.mark.parametrize("domain", ["co.uk", "com.au", "localhost"])
def test_a_domain_with_no_name_left_is_kept_as_it_is(domain: str) -> None:
    assert organisation_name(domain) == domain


def test_a_broken_internationalised_label_is_read_as_plain_letters() -> None:
    assert organisation_name("xn--zz.example") == "Xn Zz"  # no UnicodeError escapes


@pytest.mark.parametrize(("name", "address", "expected"), [
    ("Ana Souza", "asouza@gmail.com", "Ana Souza"),
    ("  Ana   Souza ", "asouza@gmail.com", "Ana Souza"),
    ('"Ana Souza"', "asouza@gmail.com", "Ana Souza"),
    ("", "ana.souza@gmail.com", "Ana Souza"),
    ("", "ana_souza@gmail.com", "Ana Souza"),
    ("", "ana-souza@gmail.com", "Ana Souza"),
    ("", "ana.souza+crm@gmail.com", "Ana Souza"),  # a sub-address tag is no part of a name
    ("", "ana.souza1987@gmail.com", "Ana Souza"),
    ("", "jsmith@yahoo.com", "Jsmith"),
    ("", "joão.silva@gmail.com", "João Silva"),
    ("asouza@gmail.com", "asouza@gmail.com", "Asouza"),  # an address given as the name
    ("", "12345@gmail.com", "12345@gmail.com"),  # nothing readable: the address
])
def test_a_free_mail_counterpart_is_named_after_the_person(name: str, address: str,
                                                           expected: str) -> None:
    assert person_name(name, address) == expected


def _meeting(*attendees: Attendee) -> MeetingData:
    return MeetingData(uid="u", recurrence_id="", title="Intro", start=T0,
                       end=T0 + timedelta(hours=1), attendees=(Attendee(USER), *attendees))


def test_a_counterpart_with_a_company_domain_is_named_like_the_company() -> None:
    meeting = _meeting(Attendee("lena@sales.northwind-traders.co.uk", name="Lena Berg"))
    counterpart = counterpart_of(meeting, PromptRules(user_email=USER))
    assert counterpart.key == "domain:sales.northwind-traders.co.uk"
    assert counterpart.name == "Northwind Traders"


def test_a_free_mail_counterpart_is_named_by_the_calendar_or_the_address() -> None:
    rules = PromptRules(user_email=USER)
    named = counterpart_of(_meeting(Attendee("asouza@gmail.com", name="Ana Souza")), rules)
    assert (named.key, named.name) == ("email:asouza@gmail.com", "Ana Souza")
    unnamed = counterpart_of(_meeting(Attendee("ana.souza@gmail.com")), rules)
    assert (unnamed.key, unnamed.name) == ("email:ana.souza@gmail.com", "Ana Souza")


def test_overdue_is_an_open_deal_whose_next_follow_up_is_over() -> None:
    assert is_overdue(DealStatus.OPEN, T0, T0)
    assert is_overdue(DealStatus.OPEN, T0 - timedelta(days=2), T0)
    assert not is_overdue(DealStatus.OPEN, T0 + timedelta(minutes=1), T0)
    assert not is_overdue(DealStatus.OPEN, None, T0)
    assert not is_overdue(DealStatus.WON, T0 - timedelta(days=2), T0)
    assert not is_overdue(DealStatus.LOST, T0 - timedelta(days=2), T0)


def test_every_order_has_a_label() -> None:
    assert [sort.value for sort in DealSort] == ["next", "last_touch", "touches", "status",
                                                 "newest"]
    assert DealSort.NEXT.label == "Next follow-up"
    assert all(sort.label for sort in DealSort)

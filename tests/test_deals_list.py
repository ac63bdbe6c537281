"""The deals list as the service reads it: sorted in SQL (next follow-up with the overdue
first, last touch, touches, status), searched (name, meeting titles, attendees), with the first
and last touch; a page costs the same few queries whatever its size; the picker's search."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from calsync.domain.deals import DealSort
from calsync.domain.vocabulary import Channel, DealStatus, FollowUpStatus, PromptStatus
from calsync.errors import ValidationFailed
from calsync.models import Deal, FollowUp, Meeting, Prompt, User
from calsync.services import deals

NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Spec:
    name: str
    touches: tuple[float, ...] = ()  # days ago of each answered touch
    next_in: float | None = None  # days from now of the next planned follow-up
    status: DealStatus = DealStatus.OPEN
    title: str = "Intro"
    attendees: tuple[tuple[str, str], ...] = ()  # (email, name)
    pending: tuple[float, ...] = ()  # days ago of touches still waiting for an answer
    covered: tuple[float, ...] = field(default=())  # days ago of covered touches


def make_deals(session: Session, user: User, *specs: Spec) -> dict[str, int]:
    """Deals straight into the database, with their touches and follow-ups; name -> id."""
    ids = {}
    for spec in specs:
        domain = spec.name.lower().replace(" ", "-") + ".example"
        deal = Deal(user_id=user.id, name=spec.name, key=f"domain:{domain}", status=spec.status)
        session.add(deal)
        session.flush()
        touches = ([(ago, PromptStatus.ANSWERED) for ago in spec.touches]
                   + [(ago, PromptStatus.PENDING) for ago in spec.pending]
                   + [(ago, PromptStatus.COVERED) for ago in spec.covered])
        for index, (ago, status) in enumerate(touches):
            end = NOW - timedelta(days=ago)
            meeting = Meeting(user_id=user.id, uid=f"{spec.name}-{index}", title=spec.title,
                              start=end - timedelta(hours=1), end=end,
                              attendees=[{"email": e, "name": n, "response": "accepted"}
                                         for e, n in spec.attendees])
            session.add(meeting)
            session.flush()
            session.add(Prompt(user_id=user.id, meeting_id=meeting.id, deal_id=deal.id,
                               touch_at=end, status=status,
                               outcome="next_step" if status == PromptStatus.ANSWERED else None))
        if spec.next_in is not None:
            start = NOW + timedelta(days=spec.next_in)
            session.add(FollowUp(user_id=user.id, deal_id=deal.id, uid=f"fu-{spec.name}",
                                 summary=f"Call {spec.name}", start=start,
                                 end=start + timedelta(minutes=30), channel=Channel.CALL,
                                 status=FollowUpStatus.PLANNED))
        ids[spec.name] = deal.id
    session.commit()
    return ids


def names(session: Session, user: User, **kwargs: Any) -> list[str]:
    found = deals.list_deals(session, user, limit=kwargs.pop("limit", 100), **kwargs)
    return [summary.deal.name for summary in found.items]


@pytest.fixture
def account(db_session: Session, user: User) -> User:
    return db_session.get(User, user.id)  # type: ignore[return-value]


@pytest.fixture
def pipeline(db_session: Session, account: User) -> dict[str, int]:
    return make_deals(
        db_session, account,
        Spec("Alpha", touches=(20, 9), next_in=-2),  # its follow-up is two days overdue
        Spec("Bravo", touches=(3,), next_in=5),
        Spec("Charlie", touches=(30, 15, 1), next_in=1),
        Spec("Delta", touches=(40,)),  # open, nothing planned
        Spec("Echo", touches=(50, 45), status=DealStatus.WON),
        Spec("Foxtrot", status=DealStatus.LOST),
        Spec("Golf"),  # made, never touched, nothing planned
    )


def test_next_follow_up_first_overdue_first_then_unplanned_then_closed(
        db_session: Session, account: User, pipeline: dict[str, int]) -> None:
    found = deals.list_deals(db_session, account, sort=DealSort.NEXT, limit=100, now=NOW)
    assert [s.deal.name for s in found.items] == [
        "Alpha", "Charlie", "Bravo", "Golf", "Delta", "Echo", "Foxtrot"]
    overdue = {s.deal.name for s in found.items if s.overdue}
    assert overdue == {"Alpha"}
    flagged = {s.deal.name for s in found.items if s.needs_next_touch}
    assert flagged == {"Delta", "Golf"}


def test_last_touch_touches_status_and_newest(db_session: Session, account: User,
                                              pipeline: dict[str, int]) -> None:
    assert names(db_session, account, sort=DealSort.LAST_TOUCH) == [
        "Charlie", "Bravo", "Alpha", "Delta", "Echo", "Golf", "Foxtrot"]
    assert names(db_session, account, sort=DealSort.TOUCHES) == [
        "Charlie", "Echo", "Alpha", "Delta", "Bravo", "Golf", "Foxtrot"]
    assert names(db_session, account, sort=DealSort.STATUS) == [
        "Alpha", "Charlie", "Bravo", "Golf", "Delta", "Echo", "Foxtrot"]
    assert names(db_session, account, sort=DealSort.NEWEST) == [
        "Golf", "Foxtrot", "Echo", "Delta", "Charlie", "Bravo", "Alpha"]
    assert names(db_session, account, status=DealStatus.OPEN, sort=DealSort.TOUCHES) == [
        "Charlie", "Alpha", "Delta", "Bravo", "Golf"]


def test_since_is_the_first_touch_and_only_touches_count(db_session: Session,
                                                         account: User) -> None:
    make_deals(db_session, account, Spec("Hotel", touches=(10, 4), pending=(30, 1),
                                         covered=(12,)))
    [hotel] = deals.list_deals(db_session, account, limit=10).items
    # The covered touch counts; the prompts still waiting for an answer do not.
    assert hotel.touches == 3
    assert hotel.since == NOW - timedelta(days=12)
    assert hotel.last_touch == NOW - timedelta(days=4)
    assert deals.summarise(db_session, account, hotel.deal).since == hotel.since


def test_sorted_pages_follow_each_other(db_session: Session, account: User,
                                        pipeline: dict[str, int]) -> None:
    for sort in DealSort:
        everything = names(db_session, account, sort=sort)
        walked: list[str] = []
        after = None
        while True:
            page = deals.list_deals(db_session, account, sort=sort, limit=3, after=after)
            walked += [s.deal.name for s in page.items]
            if page.next_key is None:
                break
            after = page.next_key
        assert walked == everything, sort


def test_a_key_of_another_order_is_refused(db_session: Session, account: User,
                                           pipeline: dict[str, int]) -> None:
    key = deals.list_deals(db_session, account, sort=DealSort.NEXT, limit=2).next_key
    assert key == ["next", 2]
    for sort, bad in ((DealSort.TOUCHES, key), (DealSort.NEXT, ["next", -1]),
                      (DealSort.NEXT, ["next", "2"]), (DealSort.NEWEST, key),
                      (DealSort.NEWEST, [True])):
        with pytest.raises(ValidationFailed) as error:
            deals.list_deals(db_session, account, sort=sort, limit=2, after=bad)
        assert error.value.field == "cursor"


def test_search_finds_names_titles_and_attendees(db_session: Session, account: User) -> None:
    make_deals(
        db_session, account,
        Spec("Contoso", touches=(3,), title="Pilot review",
             attendees=(("lena@contoso.example", "Lena Berg"),)),
        Spec("Northwind", touches=(2,), title="Discovery call",
             attendees=(("joao@northwind.example", "João Ünal"),)),
        Spec("Fifty_Percent", touches=(1,), title="Budget 100% approved"),
    )
    assert names(db_session, account, search="contoso") == ["Contoso"]
    assert names(db_session, account, search="PILOT") == ["Contoso"]  # a meeting's title
    assert names(db_session, account, search="lena@") == ["Contoso"]  # an attendee's email
    assert names(db_session, account, search="berg") == ["Contoso"]  # an attendee's name
    assert names(db_session, account, search="joão") == ["Northwind"]  # JSON keeps \\u00e3
    assert names(db_session, account, search="ünal") == ["Northwind"]
    assert names(db_session, account, search="ÜNAL jOÃo") == ["Northwind"]  # any case
    # Words of the stored JSON itself find nothing: only names, emails and titles count.
    for word in ("email", "name", "response", "accepted", '"'):
        assert names(db_session, account, search=word) == [], word
    assert names(db_session, account, search="discovery northwind") == ["Northwind"]
    assert names(db_session, account, search="discovery contoso") == []  # every word
    # LIKE's wildcards are taken literally.
    assert names(db_session, account, search="100%") == ["Fifty_Percent"]
    assert names(db_session, account, search="%") == ["Fifty_Percent"]
    assert names(db_session, account, search="y_p") == ["Fifty_Percent"]
    assert names(db_session, account, search="contoso", status=DealStatus.WON) == []


def test_a_search_never_finds_another_users_deals(db_session: Session, account: User,
                                                  make_user) -> None:  # type: ignore[no-untyped-def]
    other = db_session.get(User, make_user("eve@rival.example").id)
    make_deals(db_session, other, Spec("Contoso", touches=(1,)))
    make_deals(db_session, account, Spec("Contoso Two", touches=(1,)))
    assert names(db_session, account, search="contoso") == ["Contoso Two"]
    assert [d.name for d in deals.pick_deals(db_session, account, "contoso")] == ["Contoso Two"]
    assert [d.name for d in deals.pick_deals(db_session, account)] == ["Contoso Two"]


def test_the_picker_lists_names_starting_with_the_words_first(db_session: Session,
                                                              account: User) -> None:
    ids = make_deals(
        db_session, account,
        Spec("The North Group", touches=(1,)),
        Spec("Northwind", touches=(5,)),
        Spec("Northwind Old", status=DealStatus.LOST),
        Spec("Southwind", touches=(2,)),
        *(Spec(f"Other {n:02}", touches=(n + 3,)) for n in range(12)),
    )
    picked = deals.pick_deals(db_session, account, "north")
    assert [d.name for d in picked] == ["Northwind", "Northwind Old", "The North Group"]
    picked = deals.pick_deals(db_session, account, "north", leave_out=ids["Northwind"])
    assert [d.name for d in picked] == ["Northwind Old", "The North Group"]
    # No search: open deals touched last first, up to the picker's size.
    unsearched = [d.name for d in deals.pick_deals(db_session, account)]
    assert len(unsearched) == deals.PICKER_SIZE
    assert unsearched[:4] == ["The North Group", "Southwind", "Other 00", "Other 01"]


def test_renaming_refuses_a_blank_name(db_session: Session, account: User) -> None:
    deal_id = make_deals(db_session, account, Spec("Contoso"))["Contoso"]
    with pytest.raises(ValidationFailed) as error:
        deals.rename_deal(db_session, account, deal_id, "  \n ")
    assert error.value.field == "name"
    assert deals.rename_deal(db_session, account, deal_id, "  Contoso   Group ").name == (
        "Contoso Group")


@pytest.fixture
def statements(db_session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_page_costs_two_queries_whatever_its_size(db_session: Session, account: User,
                                                    statements: list[str]) -> None:
    make_deals(db_session, account, *(Spec(f"Deal {n}", touches=(n % 9 + 1,),
                                           next_in=(n % 5) - 1 if n % 2 else None)
                                      for n in range(60)))
    for sort in DealSort:
        statements.clear()
        found = deals.list_deals(db_session, account, sort=sort, search="deal", limit=50)
        assert len(found.items) == 50
        assert len(statements) == 2, sort

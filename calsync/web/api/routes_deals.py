"""Deals (the thread of touches with one counterpart) and the follow-ups planned for them,
with undoing a booked meeting's covering of one."""

from __future__ import annotations

from typing import Any

from calsync.db import get_session
from calsync.domain.vocabulary import DealStatus
from calsync.errors import ValidationFailed
from calsync.services import booked, deals
from calsync.services.paging import invalid_cursor
from calsync.web import current_settings
from calsync.web.api.bodies import DealPatchIn, DealQuery, FollowUpQuery
from calsync.web.api.pagination import decode, encode
from calsync.web.api.registry import api_user, route
from calsync.web.api.schemas import DealDetailOut, DealList, DealOut, FollowUpList, FollowUpOut
from calsync.web.api.serialize import PromptRenderer, deal_detail_out, deal_out, followup_out


@route("/deals", "GET", response=DealList, query=DealQuery)
def list_deals(query: DealQuery) -> DealList:
    """List deals (newest first, or in the `sort` asked for) with touch counts, the first and
    last touch and the next planned follow-up; `q` searches them as the deals page does.

    `needs_next_touch` flags an open deal with nothing planned: the one about to be forgotten;
    `overdue` one whose next follow-up's time is over with no answer on how it went; `cold`
    (since `cold_since`) one whose follow-up passed unanswered for 2 working days, or with
    nothing planned for the cadence's gap since its last touch; `cold=true` lists only those,
    longest cold first. `next_booked` is a meeting they booked that is the deal's next touch.
    """
    if query.cold:
        return _cold_deals(query)
    found = deals.list_deals(get_session(), api_user(), query.status, search=query.q,
                             sort=query.sort, limit=query.limit,
                             after=decode(query.cursor, "deals"), settings=current_settings())
    return DealList(items=[deal_out(summary) for summary in found.items],
                    next_cursor=encode("deals", found.next_key))


def _cold_deals(query: DealQuery) -> DealList:
    """The Going cold list: coldness is worked out per deal (working days in the user's
    zone), so the list pages by position."""
    if query.q.strip():
        raise ValidationFailed("q", "searching is not offered with cold=true; leave one out.")
    if query.status not in (None, DealStatus.OPEN):
        raise ValidationFailed("status", "only an open deal goes cold.")
    offset = _position(decode(query.cursor, "cold-deals"))
    end = offset + query.limit
    found = deals.cold_deals(get_session(), current_settings(), api_user(), limit=end + 1)
    return DealList(items=[deal_out(summary) for summary in found[offset:end]],
                    next_cursor=encode("cold-deals", [end] if len(found) > end else None))


def _position(key: list[Any] | None) -> int:
    if key is None:
        return 0
    if len(key) != 1 or not isinstance(key[0], int) or key[0] < 0:
        raise invalid_cursor()
    return key[0]


@route("/deals/<int:deal_id>", "GET", response=DealDetailOut)
def get_deal(deal_id: int) -> DealDetailOut:
    """One deal with its timeline: every touch (a prompt) and every follow-up, oldest first."""
    session, user = get_session(), api_user()
    summary, timeline = deals.deal_with_timeline(session, user, deal_id, current_settings())
    return deal_detail_out(summary, timeline, PromptRenderer(session, current_settings(), user))


@route("/deals/<int:deal_id>", "PATCH", response=DealOut, body=DealPatchIn)
def rename_deal(deal_id: int, body: DealPatchIn) -> DealOut:
    """Rename a deal (as its page does); the name is the user's from then on."""
    session, user = get_session(), api_user()
    deal = deals.rename_deal(session, user, deal_id, body.name)
    return deal_out(deals.summarise(session, user, deal, settings=current_settings()))


@route("/followups", "GET", response=FollowUpList, query=FollowUpQuery)
def list_followups(query: FollowUpQuery) -> FollowUpList:
    """List follow-ups by start time, earliest first."""
    found = deals.list_followups(get_session(), api_user(), query.status, limit=query.limit,
                                 after=decode(query.cursor, "followups"))
    return FollowUpList(items=[followup_out(row) for row in found.items],
                        next_cursor=encode("followups", found.next_key))


@route("/followups/<int:followup_id>", "GET", response=FollowUpOut)
def get_followup(followup_id: int) -> FollowUpOut:
    """One follow-up."""
    return followup_out(deals.get_followup(get_session(), api_user(), followup_id))


@route("/followups/<int:followup_id>/unbook", "POST", response=FollowUpOut, errors=("422",))
def unbook_followup(followup_id: int) -> FollowUpOut:
    """Undo a booked meeting's covering of this follow-up (`cancel_reason` booked): it is
    planned again and written back to the calendar; the same meeting won't cover it again
    unless it moves. 422 for a follow-up no booked meeting covered."""
    return followup_out(booked.unbook(get_session(), api_user(), followup_id))

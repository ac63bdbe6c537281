"""Deals (the thread of touches with one counterpart) and the follow-ups planned for them."""

from __future__ import annotations

from sqlalchemy import select

from calsync.db import get_session
from calsync.models import Deal, FollowUp
from calsync.services import deals
from calsync.web import current_settings
from calsync.web.api.bodies import DealQuery, FollowUpQuery
from calsync.web.api.pagination import page
from calsync.web.api.registry import api_user, route
from calsync.web.api.schemas import DealDetailOut, DealList, FollowUpList, FollowUpOut
from calsync.web.api.serialize import PromptView, deal_detail_out, deal_out, followup_out


@route("/deals", "GET", response=DealList, query=DealQuery)
def list_deals(query: DealQuery) -> DealList:
    """List deals, newest first, with touch counts and the next planned follow-up.

    `needs_next_touch` flags an open deal with nothing planned: the one about to be forgotten.
    """
    session, user = get_session(), api_user()
    rows, next_cursor = page(
        session, deals.deals_query(user, query.status).order_by(None), list_name="deals",
        order=[Deal.id], descending=True, limit=query.limit, cursor=query.cursor)
    summaries = deals.summarise(session, user, rows) if rows else []
    return DealList(items=[deal_out(summary) for summary in summaries], next_cursor=next_cursor)


@route("/deals/<int:deal_id>", "GET", response=DealDetailOut)
def get_deal(deal_id: int) -> DealDetailOut:
    """One deal with its timeline: every touch (a prompt) and every follow-up, oldest first."""
    session, user = get_session(), api_user()
    deal = deals.get_deal(session, user, deal_id)
    [summary] = deals.summarise(session, user, [deal])
    view = PromptView(session, current_settings(), user)
    return deal_detail_out(summary, deals.timeline(session, deal), view)


@route("/followups", "GET", response=FollowUpList, query=FollowUpQuery)
def list_followups(query: FollowUpQuery) -> FollowUpList:
    """List follow-ups by start time, earliest first."""
    session = get_session()
    rows = select(FollowUp).where(FollowUp.user_id == api_user().id)
    if query.status is not None:
        rows = rows.where(FollowUp.status == query.status)
    found, next_cursor = page(session, rows, list_name="followups",
                              order=[FollowUp.start, FollowUp.id], descending=False,
                              limit=query.limit, cursor=query.cursor)
    return FollowUpList(items=[followup_out(row) for row in found], next_cursor=next_cursor)


@route("/followups/<int:followup_id>", "GET", response=FollowUpOut)
def get_followup(followup_id: int) -> FollowUpOut:
    """One follow-up."""
    return followup_out(deals.get_followup(get_session(), api_user(), followup_id))

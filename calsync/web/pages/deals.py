"""Deals: the list, sorted (next follow-up first, overdue highlighted) and searched, with
status, touches, the first and last touch and the next follow-up; one deal's timeline;
renaming; finding a deal to move a touch to (the prompt page's picker, and its JSON search
for the page's script); trying a follow-up's failed write to its calendar again.

Flags the open deals with no planned next touch, the ones about to be forgotten, and those
gone cold ("cold since Mon 30 Nov").
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from calsync.db import get_session
from calsync.domain.cadence import touch_label
from calsync.domain.deals import DealSort
from calsync.domain.vocabulary import DealStatus, WriteStatus
from calsync.services import cadences, followup_writes
from calsync.services import deals as deals_service
from calsync.web import current_settings
from calsync.web.api.registry import MAX_ROW_ID
from calsync.web.pages import bp
from calsync.web.pages.display import day, local
from calsync.web.pages.forms import RenameDealForm
from calsync.web.redirects import safe_target

if TYPE_CHECKING:
    from calsync.models import Deal, Prompt, User

PAGE_SIZE = 50
# The most deals the "Going cold" tab lists.
COLD_SHOWN = 200
# The orders the page offers (the API's default, newest first, is no help to a salesperson).
PAGE_SORTS = (DealSort.NEXT, DealSort.LAST_TOUCH, DealSort.TOUCHES, DealSort.STATUS)
# Longest search kept from a query string: a few words, not a page of text.
MAX_SEARCH = 200


@bp.get("/deals")
@login_required
def deals() -> str:
    session = get_session()
    user: User = current_user
    status = _status_filter(request.args.get("status", ""))
    sort = _sort(request.args.get("sort", ""))
    search = _search("q")
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    cadence = cadences.cadence_for(user, current_settings())
    if request.args.get("cold"):
        # Gone cold, longest first: worked out per deal (working days), so one list, no pages.
        cold = deals_service.cold_deals(session, current_settings(), user, limit=COLD_SHOWN)
        return render_template("deals.html", summaries=cold, status=None, sort=sort,
                               sorts=PAGE_SORTS, q="", page=1, more=False, cadence=cadence,
                               touch_label=touch_label, cold=True)
    found = deals_service.list_deals(session, user, status, search=search, sort=sort,
                                     limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                     settings=current_settings())
    return render_template("deals.html", summaries=found.items, status=status, sort=sort,
                           sorts=PAGE_SORTS, q=search, page=page,
                           more=found.next_key is not None, cadence=cadence,
                           touch_label=touch_label, cold=False)


def _status_filter(value: str) -> DealStatus | None:
    """The list's filter: one deal status, or None (all deals) for anything else."""
    try:
        return DealStatus(value)
    except ValueError:
        return None


def _sort(value: str) -> DealSort:
    """The list's order: one the page offers, or by next follow-up."""
    return next((sort for sort in PAGE_SORTS if sort.value == value), DealSort.NEXT)


def _search(name: str) -> str:
    return " ".join(request.args.get(name, "")[:MAX_SEARCH].split())


@bp.get("/deals/<int:deal_id>")
@login_required
def deal(deal_id: int) -> str:
    session = get_session()
    user: User = current_user
    summary, entries = deals_service.deal_with_timeline(session, user, deal_id,
                                                        current_settings())
    # A booked meeting stands in the timeline at its own time, not the covered follow-up's.
    entries.sort(key=lambda entry: entry.booked.start if entry.booked else entry.at)
    cadence = cadences.cadence_for(user, current_settings())
    deal = summary.deal
    rename = RenameDealForm(formdata=None, data={"name": deal.name})
    return render_template("deal.html", deal=deal, summary=summary, entries=entries,
                           label=touch_label(cadence, summary.touches), rename=rename)


@bp.post("/deals/<int:deal_id>/rename")
@login_required
def rename_deal(deal_id: int) -> BaseResponse:
    session = get_session()
    deal = deals_service.get_deal(session, current_user, deal_id)
    form = RenameDealForm()
    if not form.validate():
        for error in form.name.errors:
            flash(str(error), "error")
        return redirect(url_for("pages.deal", deal_id=deal.id, _anchor="rename"))
    deal = deals_service.rename_deal(session, current_user, deal.id, form.name.data or "")
    flash(f"Renamed the deal to “{deal.name}”.")
    return redirect(url_for("pages.deal", deal_id=deal.id))


@bp.get("/deals/search")
@login_required
def search_deals() -> Response:
    """The picker's deals as JSON, for the prompt page's script: those of the signed-in user
    whose name holds every word of `q`, but the deal `leave_out` (the prompt's own)."""
    leave_out = request.args.get("leave_out", type=int)
    if leave_out is not None and not 0 < leave_out <= MAX_ROW_ID:
        leave_out = None  # no deal has that id (SQLite can't even bind it)
    found = deals_service.pick_deals(get_session(), current_user, _search("q"),
                                     leave_out=leave_out)
    return jsonify(deals=[_choice(deal) for deal in found])


@bp.app_template_global()
def deals_to_pick(prompt: Prompt) -> list[Deal]:
    """The prompt page's "belongs to another deal?" choices: the user's deals matching the
    page's `?deal_q=` (the search without a script), but the one the prompt is in."""
    return deals_service.pick_deals(get_session(), current_user, _search("deal_q"),
                                    leave_out=prompt.deal_id)


@bp.app_template_filter("local_day")
def local_day(moment: datetime | None) -> str:
    """The day of a moment in the user's zone, "Tue 24 Nov"; "—" for none."""
    return "—" if moment is None else day(local(moment).date())


def _choice(deal: Deal) -> dict[str, object]:
    return {"id": deal.id, "name": deal.name, "status": deal.status.value,
            "counterpart": deal.counterpart}


@bp.post("/followups/<int:followup_id>/retry")
@login_required
def retry_write(followup_id: int) -> BaseResponse:
    """Try a failed write of a follow-up to the calendar again."""
    followup = followup_writes.retry_failed_write(get_session(), current_user, followup_id)
    target = safe_target(request.form.get("next"), url_for("pages.inbox"))
    if followup is None:
        flash("That follow-up has no failed write to retry.")
        return redirect(target)
    if followup.write_status is WriteStatus.WRITTEN:
        flash(f"“{followup.summary}” is now in your calendar.")
    else:
        flash(f"Trying again to put “{followup.summary}” in your calendar.")
    return redirect(target)

"""Deals: the list with status, touches and next follow-up; one deal's timeline; renaming.

Flags the open deals with no planned next touch, the ones about to be forgotten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from calsync.db import get_session
from calsync.domain.cadence import touch_label
from calsync.domain.vocabulary import DealStatus
from calsync.services import cadences
from calsync.services import deals as deals_service
from calsync.web import current_settings
from calsync.web.pages import bp
from calsync.web.pages.forms import RenameDealForm

if TYPE_CHECKING:
    from calsync.models import User

PAGE_SIZE = 50


@bp.get("/deals")
@login_required
def deals() -> str:
    session = get_session()
    user: User = current_user
    status = _status_filter(request.args.get("status", ""))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    found = deals_service.list_deals(session, user, status, limit=PAGE_SIZE,
                                     offset=(page - 1) * PAGE_SIZE)
    summaries = deals_service.summarise(session, user, found.items)
    cadence = cadences.cadence_for(user, current_settings())
    return render_template("deals.html", summaries=summaries, status=status, page=page,
                           more=found.next_key is not None, cadence=cadence,
                           touch_label=touch_label)


def _status_filter(value: str) -> DealStatus | None:
    """The list's filter: one deal status, or None (all deals) for anything else."""
    try:
        return DealStatus(value)
    except ValueError:
        return None


@bp.get("/deals/<int:deal_id>")
@login_required
def deal(deal_id: int) -> str:
    session = get_session()
    user: User = current_user
    summary, entries = deals_service.deal_with_timeline(session, user, deal_id)
    cadence = cadences.cadence_for(user, current_settings())
    deal = summary.deal
    rename = RenameDealForm(formdata=None, data={"name": deal.name})
    return render_template("deal.html", deal=deal, summary=summary, entries=entries,
                           label=touch_label(cadence, summary.touches), rename=rename)


@bp.post("/deals/<int:deal_id>/rename")
@login_required
def rename_deal(deal_id: int) -> Response:
    session = get_session()
    deal = deals_service.get_deal(session, current_user, deal_id)
    form = RenameDealForm()
    if not form.validate():
        for error in form.name.errors:
            flash(str(error), "error")
        return redirect(url_for("pages.deal", deal_id=deal.id))
    deal = deals_service.rename_deal(session, current_user, deal.id, form.name.data or "")
    flash(f"Renamed the deal to “{deal.name}”.")
    return redirect(url_for("pages.deal", deal_id=deal.id))

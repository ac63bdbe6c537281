"""The inbox's booked-meeting notice and its Undo, and the deals gone cold on the deals list
and the coach, in a real browser (Debian's Chromium via Playwright) at 1280 and 390 px:
nothing scrolls sideways. Screenshots: booked-<width>.png, deals-cold-<width>.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from calsync.db import get_db
from calsync.domain.vocabulary import CancelReason, Channel, FollowUpStatus, MeetingStatus
from calsync.models import FollowUp, Meeting, User
from tests.browser.conftest import fits
from tests.browser.pages import at_width, signed_in
from tests.test_deals_list import Spec, make_deals


def seed(app: Flask, user: User) -> int:
    """Deals (Delta Foods gone cold) and Contoso's follow-up covered by a booked meeting;
    returns the follow-up's id."""
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context(), get_db().session() as session:
        owner = session.get(User, user.id)
        ids = make_deals(session, owner,  # type: ignore[arg-type]
                         Spec("Contoso", touches=(1,)),
                         Spec("Bravo", touches=(3,), next_in=5),
                         Spec("Delta Foods", touches=(40,)),
                         Spec("Echo Systems", touches=(12, 9), next_in=-7))
        start = now + timedelta(days=2)
        booked = Meeting(user_id=user.id, uid="pricing-review", title="Pricing review",
                         start=start, end=start + timedelta(hours=1),
                         attendees=[{"email": "buyer@contoso.example", "name": "Buyer",
                                     "response": "accepted"}])
        session.add(booked)
        session.flush()
        followup = FollowUp(user_id=user.id, deal_id=ids["Contoso"], uid="fu-covered@calsync",
                            summary="Send pricing", start=start + timedelta(days=1),
                            end=start + timedelta(days=1, minutes=30), channel=Channel.EMAIL,
                            status=FollowUpStatus.CANCELLED, cancelled_at=now,
                            cancel_reason=CancelReason.BOOKED, booked_meeting_id=booked.id)
        session.add(followup)
        session.commit()
        return followup.id


@pytest.mark.parametrize("width", [1280, 390])
def test_booked_notice_undo_and_cold_deals(live_app: tuple[str, Flask], page: Page,
                                           width: int, make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    seed(app, user)
    signed_in(at_width(page, width), url, user)

    page.goto(f"{url}/")
    notice = page.locator("#booked li")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Contoso booked “Pricing review” on")
    expect(notice).to_contain_text("your follow-up “Send pricing” is covered.")
    fits(page, "booked")
    notice.get_by_role("button", name="Undo: plan “Send pricing” again").click()
    expect(page.get_by_text("“Send pricing” is planned again for")).to_be_visible()
    expect(page.locator("#booked")).to_have_count(0)

    page.goto(f"{url}/deals")
    cold = page.locator("tr.deal-row .badge.cold")
    expect(cold).to_have_count(2)  # Delta Foods (no touch planned), Echo Systems (passed)
    expect(page.locator("tr.deal-row", has_text="Delta Foods").locator(".badge.cold")
           ).to_contain_text("cold since")
    expect(page.locator("tr.deal-row", has_text="Bravo").locator(".badge.cold")).to_have_count(0)
    fits(page, "deals-cold")
    page.get_by_role("link", name="Going cold").click()
    expect(page.locator("tr.deal-row")).to_have_count(2)
    expect(page.locator("tr.deal-row").first).to_contain_text("Delta Foods")  # longest cold

    page.goto(f"{url}/coach")
    expect(page.locator("#cold-deals li")).to_have_count(2)
    fits(page, "coach-cold")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_cancelled_booked_meeting_says_the_follow_up_is_back(
        live_app: tuple[str, Flask], page: Page, width: int,
        make_user) -> None:  # type: ignore[no-untyped-def]
    url, app = live_app
    user: User = make_user()
    followup_id = seed(app, user)
    with app.app_context(), get_db().session() as session:
        followup = session.get(FollowUp, followup_id)
        assert followup is not None
        booked = session.get(Meeting, followup.booked_meeting_id)
        assert booked is not None
        booked.status = MeetingStatus.CANCELLED  # as a sync records it
        followup.plan_again(datetime.now(UTC))  # as services.booked.replan_uncovered does
        session.commit()
    signed_in(at_width(page, width), url, user)

    page.goto(f"{url}/")
    notice = page.locator("#booked li")
    expect(notice).to_contain_text("“Pricing review” on")
    expect(notice).to_contain_text(
        "was cancelled: your follow-up “Send pricing” is planned again for")
    expect(notice.get_by_role("button")).to_have_count(0)  # nothing to undo
    fits(page, "booked-replanned")

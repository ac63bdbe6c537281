"""After a yes through the pages: the after-sale touches ticked by default and offered one
click each afterwards; an after-sale prompt asks its own question and keeps the deal won."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.db import get_db
from calsync.domain.vocabulary import AnswerAction
from calsync.models import Deal, FollowUp, Prompt
from calsync.services import links
from calsync.services import prompts as inbox
from calsync.services.links import Link, LinkPurpose
from tests.conftest import csrf_from
from tests.web.conftest import load, post, prompted, query


def _yes(client: FlaskClient, prompt_id: int, *ticked: str) -> str:
    """A yes with the Yes button, the after-sale touches `ticked` (the page ticks none by
    default)."""
    return post(client, f"/prompts/{prompt_id}/answer", {
        "outcome": "yes", "after_sale_shown": "y", "after_sale": list(ticked),
        "revisit_shown": "y", "revisit": "y"}, follow_redirects=True).get_data(as_text=True)


def test_a_yes_offers_each_after_sale_touch_one_click_each(
        app: Flask, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    page = logged_in.get(f"/prompts/{seeded['Contoso demo']}").get_data(as_text=True)
    assert "(in about 3 months)" in page  # the revisit, not "(in 91 days)"
    text = _yes(logged_in, seeded["Contoso demo"])
    assert "The deal is won." in text and "Also plan, one click each:" in text
    offer = text.split('class="flash after-sale-notice"')[1].split("</form>")[0]
    assert all(f'value="{kind}"' in offer for kind in ("check_in", "referral", "upsell"))
    assert "Up-sell review" in offer and "(in about 3 months)" in offer
    action = offer.split('action="')[1].split('"')[0]
    done = post(logged_in, action, {"kind": "check_in"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "Planned: Satisfaction check-in" in text
    offer = text.split('class="flash after-sale-notice"')[1].split("</form>")[0]
    assert 'value="check_in"' not in offer and 'value="upsell"' in offer  # the rest
    post(logged_in, action, {"kind": "referral"})
    done = post(logged_in, action, {"kind": "upsell"}, follow_redirects=True)
    assert "Also plan" not in done.get_data(as_text=True)  # nothing left to offer
    kinds = sorted(f.kind for f in query(app, select(FollowUp)))
    assert kinds == ["check_in", "referral", "upsell"]


def test_an_after_sale_prompt_asks_its_own_question_and_keeps_the_deal_won(
        app: Flask, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    _yes(logged_in, seeded["Contoso demo"], "check_in", "referral")
    [check_in] = query(app, select(FollowUp).where(FollowUp.kind == "check_in"))
    asked, page = prompted(app, logged_in, check_in)
    assert "Are they happy with it?" in page and "Not happy yet" in page
    assert "Satisfaction check-in · Email" in page  # the vocabulary's label, as elsewhere
    assert "usual 5-7" not in page and "Chose a competitor" not in page
    assert "Satisfaction check-in, after the sale" in page
    row = logged_in.get("/").get_data(as_text=True)
    assert "Contoso · after the sale" in row
    answered = post(logged_in, f"/prompts/{asked.id}/answer", {"outcome": "no"},
                    follow_redirects=True)
    assert "Not happy yet. The deal stays won." in answered.get_data(as_text=True)
    assert load(app, Deal, check_in.deal_id).status == "won"
    [referral] = query(app, select(FollowUp).where(FollowUp.kind == "referral"))
    assert referral.status == "planned"
    deal_page = logged_in.get(f"/deals/{check_in.deal_id}").get_data(as_text=True)
    assert '<span class="badge ">Not happy yet</span>' in deal_page  # not a red "No"
    assert 'class="badge lost"' not in deal_page


def test_an_after_sale_prompts_email_link_asks_its_question_and_keeps_the_deal_won(
        app: Flask, client: FlaskClient, logged_in: FlaskClient,
        seeded: dict[str, int]) -> None:
    _yes(logged_in, seeded["Contoso demo"], "check_in", "referral")
    [check_in] = query(app, select(FollowUp).where(FollowUp.kind == "check_in"))
    settings = app.extensions["calsync.settings"]
    with app.app_context(), get_db().session() as session:
        inbox.create_due_prompts(session, settings, check_in.end + timedelta(hours=1))
    [asked] = query(app, select(Prompt).where(Prompt.followup_id == check_in.id))
    expires = (datetime.now(UTC) + timedelta(days=14)).replace(microsecond=0)
    link = Link(LinkPurpose.ANSWER, check_in.user_id, expires, prompt_id=asked.id,
                action=AnswerAction.NO)
    path = "/a/" + links.sign(settings, link)
    logged_in.post("/logout")
    page = client.get(path).get_data(as_text=True)
    assert "Are they happy with it? Not happy yet?" in page and "The deal stays won." in page
    assert "the deal is lost" not in page and "Why not?" not in page
    done = client.post(path, data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert done.status_code == 200
    assert load(app, Prompt, asked.id).outcome == "no"
    assert load(app, Deal, check_in.deal_id).status == "won"

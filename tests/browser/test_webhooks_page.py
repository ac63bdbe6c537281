"""The settings page's webhooks section in Chromium, at desktop and phone width: adding one
lands on its secret, shown once; deliveries that arrived and failed are listed with
Redeliver, failed ones with their status code and duration too, each attempt in a fold; a
webhook turned off says why; nothing scrolls sideways. Screenshots: ARTIFACTS/
webhooks-new-<width>.png, webhooks-<width>.png and webhooks-attempts-<width>.png."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import WebhookEvent
from calsync.models import User, Webhook
from calsync.services import webhooks
from tests.browser.conftest import ARTIFACTS, fits, serve, sign_in
from tests.servers.webhook_receiver import Receiver

WIDTHS = (1280, 390)
# A long address, as CRMs hand them out: it must wrap on a phone, not widen the page.
PATH = "/api/v2/integrations/calsync/webhooks/inbound-events-for-the-sales-pipeline"


@pytest.fixture
def live_app(settings: Settings) -> Iterator[tuple[str, Flask]]:
    yield from serve(replace(settings, webhook_timeout_seconds=2))


def emit(app: Flask, user: User, event: WebhookEvent) -> None:
    with app.app_context(), get_db().session() as session:
        webhooks.emit(session, user.id, event,
                      {"deal": {"id": 7, "name": "Acme", "status": "won"}})
        session.commit()  # the inline queue sends it now


def backdate_failures(app: Flask, url: str) -> None:
    """The webhook at `url` has been failing for four days (so the next failure ends it)."""
    with app.app_context(), get_db().session() as session:
        hook = session.scalar(select(Webhook).where(Webhook.url == url))
        assert hook is not None
        hook.failing_since = datetime.now(UTC) - timedelta(days=4)
        session.commit()


@pytest.mark.parametrize("width", WIDTHS)
def test_add_see_the_secret_once_and_the_deliveries(live_app: tuple[str, Flask], user: User,
                                                    page: Page, width: int) -> None:
    served, app = live_app
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, served, user.email)
    with Receiver() as crm, Receiver() as gone:
        page.goto(f"{served}/settings#webhooks")
        section = page.locator("#webhooks")
        assert "No webhooks." in section.inner_text()
        section.locator("input[name=url]").fill(crm.url(PATH))
        for box in section.locator("input[name=events]").all():
            if box.get_attribute("value") not in ("outcome.recorded", "deal.won"):
                box.uncheck()
        section.locator("button:has-text('Add webhook')").click()
        page.wait_for_load_state()
        assert page.evaluate("document.activeElement.id") == "new-webhook-box"
        crm.secret = page.inner_text("#new-webhook-secret")
        assert crm.secret.startswith("whsec_")
        fits(page)
        ARTIFACTS.mkdir(exist_ok=True)
        section.screenshot(path=str(ARTIFACTS / f"webhooks-new-{width}.png"))

        emit(app, user, WebhookEvent.DEAL_WON)  # arrives
        crm.mode = "fail"
        emit(app, user, WebhookEvent.OUTCOME_RECORDED)  # the CRM answers 500
        with app.app_context(), get_db().session() as session:
            owner = session.get(User, user.id)
            assert owner is not None
            gone.secret = webhooks.create(session, app.extensions["calsync.settings"], owner,
                                          gone.url(), ["deal.won"]).secret
        backdate_failures(app, gone.url())
        gone.mode = "fail"
        emit(app, user, WebhookEvent.DEAL_WON)  # fails at both: the second is turned off

        page.goto(f"{served}/settings")  # a load, not a jump to a fragment of the same page
        section.scroll_into_view_if_needed()
        text = section.inner_text()
        assert crm.secret not in page.content()  # shown once, never again
        assert "Sends: An outcome is recorded, a deal is won." in text
        assert "delivered (HTTP 204" in text and "answered HTTP 500. (HTTP 500, " in text
        assert "answered HTTP 500. Not retried: the webhook was disabled. (HTTP 500, " in text
        assert "Every delivery since" in text
        assert "Turned off" in text and "Every delivery failed for 3 days" in text
        assert section.locator("button:has-text('Redeliver')").count() == 4
        fits(page)
        section.screenshot(path=str(ARTIFACTS / f"webhooks-{width}.png"))

        crm.mode = "ok"
        page.locator(f"#webhooks article:has-text('{PATH}') li:has-text('outcome.recorded') "
                     "button:has-text('Redeliver')").click()
        page.wait_for_load_state()
        assert "Sending it again, with the same body and id" in page.inner_text("main")
        assert [event["type"] for event in crm.received] == ["deal.won", "outcome.recorded"]
        again = page.locator(f"#webhooks article:has-text('{PATH}') "
                             "li:has-text('outcome.recorded')").first
        again.locator("summary:has-text('2 attempts')").click()
        attempts = again.locator("details.attempts li").all_inner_texts()
        assert len(attempts) == 2
        assert "(HTTP 500, " in attempts[0] and "answered HTTP 500." in attempts[0]
        assert "(HTTP 204, " in attempts[1] and attempts[1].endswith("delivered")
        fits(page)
        page.locator("#webhooks").screenshot(path=str(ARTIFACTS / f"webhooks-attempts-{width}.png"))
        assert crm.problems == [] and gone.problems == []

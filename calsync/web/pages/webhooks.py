"""The settings page's webhooks section: add one (its secret shown once, after a redirect),
list them with their last deliveries, delete one, redeliver a delivery. The same service
functions as /api/v1/webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import flash, redirect, url_for
from flask import session as browser_session
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from calsync.config import Settings
from calsync.db import get_session
from calsync.errors import ValidationFailed
from calsync.services import settings as settings_service
from calsync.services import webhooks
from calsync.web import current_settings
from calsync.web.pages import bp
from calsync.web.pages.forms import WebhookForm

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from calsync.models import User

# Where a new webhook's sealed secret waits for the page after the redirect, once.
_SHOWN_ONCE = "new_webhook_secret"
SHOWN_DELIVERIES = 5


def webhooks_context(session: Session, settings: Settings, user: User) -> dict[str, Any]:
    """What the settings page's webhooks section shows; a new secret only this once."""
    sealed = browser_session.pop(_SHOWN_ONCE, None)
    return {
        "webhooks": webhooks.list_webhooks(session, user),
        "webhook_deliveries": webhooks.deliveries_by_webhook(session, user, SHOWN_DELIVERIES),
        "new_webhook_secret": (settings_service.unseal_new_token(settings, sealed)
                               if sealed else None),
        "webhook_form": WebhookForm(formdata=None, data={"events": webhooks.known_events()}),
        "webhook_disable_days": settings.webhook_disable_days,
    }


@bp.post("/settings/webhooks")
@login_required
def create_webhook() -> Response:
    # Here, not at the top: the settings page imports this module for its context.
    from calsync.web.pages.settings import _refused, _show

    form = WebhookForm()
    if not form.validate_on_submit():
        return _refused("webhook_form", form)
    settings = current_settings()
    try:
        created = webhooks.create(get_session(), settings, current_user, form.url.data or "",
                                  list(form.events.data or []))
    except ValidationFailed as error:
        _show(form.events if error.field == "events" else form.url, error)
        return _refused("webhook_form", form)
    # Redirected, so a reload makes no second webhook; the secret travels sealed, once.
    browser_session[_SHOWN_ONCE] = settings_service.seal_new_token(settings, created.secret)
    return redirect(url_for("pages.settings") + "#new-webhook-box")


@bp.post("/settings/webhooks/<int:webhook_id>/delete")
@login_required
def delete_webhook(webhook_id: int) -> Response:
    webhooks.delete_webhook(get_session(), current_user, webhook_id)
    flash("Deleted the webhook. calsync sends it nothing more.")
    return redirect(url_for("pages.settings") + "#webhooks")


@bp.post("/settings/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@login_required
def redeliver_webhook(webhook_id: int, delivery_id: int) -> Response:
    webhooks.redeliver(get_session(), current_user, webhook_id, delivery_id)
    flash("Sending it again, with the same body and id; its deliveries below say how it went.")
    return redirect(url_for("pages.settings") + "#webhooks")

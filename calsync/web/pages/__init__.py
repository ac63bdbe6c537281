"""The pages a salesperson uses: inbox, prompts, deals, calendars and settings.

One blueprint; each feature module attaches its routes to `bp` when imported below.
"""

from flask import Blueprint

bp = Blueprint("pages", __name__)

# Imported for their routes; they import `bp` from here, so they come after it.
from calsync.web.pages import (  # noqa: E402
    booked,
    coach,
    dashboard,
    deals,
    display,
    inbox,
    links,
    prompt_extras,
    prompts,
    settings,
    sources,
    webhooks,
)

__all__ = ["booked", "bp", "coach", "dashboard", "deals",
           "display", "inbox", "links", "prompt_extras", "prompts", "settings", "sources",
           "webhooks"]

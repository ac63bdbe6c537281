"""The outbox's table of effects: each kind of entry, and the function that performs it.

To add an effect: write its handler (idempotent: a crash can make it run twice), add its
kind here, and record entries of that kind with `outbox.record`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.models import OutboxEntry

# Performs one entry. A failure a person should see is a CalsyncError (a SourceError that
# is `transient` is retried); anything else counts as calsync's own bug, and is retried.
Handler = Callable[[Session, Settings, OutboxEntry], None]

# Dotted paths, as `calsync.providers.BUILTIN`: every handler records entries through
# `outbox.record`, so importing the handlers here would close an import cycle through it.
HANDLERS: dict[str, str] = {
    "write_followup": "calsync.jobs.writeback:write_followup",
    "stop_channel": "calsync.services.google.channels:close_channel",
}


def handler_for(kind: str) -> Handler:
    """The function that performs entries of `kind`; LookupError for a kind not in the table."""
    target = HANDLERS.get(kind)
    if target is None:
        raise LookupError(f"No outbox handler for entries of kind {kind!r}; "
                          f"calsync/jobs/effects.py knows {', '.join(sorted(HANDLERS))}.")
    module_name, _, function_name = target.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), function_name)
    return handler

"""calsync served on a LiveServer for the length of a `with` block, then cleanly shut."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from calsync.db import get_db
from tests.servers.live_app import LiveServer


@contextmanager
def serving(app: Flask, live: LiveServer) -> Iterator[tuple[str, Flask]]:
    """`app` on `live`'s port, as (url, app); afterwards the server stops once its last
    requests end and the app's database connections close (a database dropped after the
    block would otherwise still be in use)."""
    live.serve(app)
    try:
        yield live.url, app
    finally:
        live.stop()
        with app.app_context():
            get_db().dispose()

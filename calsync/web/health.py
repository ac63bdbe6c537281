"""Health for load balancers: `/healthz` says the process answers, `/readyz` that the
database and the job queue it needs are reachable."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, current_app

from calsync.db import get_db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, str], int]:
    checks = {"database": _check(_database), "queue": _check(_queue)}
    ready = all(result == "ok" for result in checks.values())
    return {"status": "ready" if ready else "not_ready", **checks}, 200 if ready else 503


def _check(probe: Callable[[], None]) -> str:
    try:
        probe()
    except Exception as error:  # any failure means "not ready"; say which part, log why
        log.warning("readiness check failed: %s", error)
        return "unreachable"
    return "ok"


def _database() -> None:
    get_db().ping()


def _queue() -> None:
    huey = current_app.extensions["calsync.queue"].huey
    ping = getattr(getattr(huey.storage, "conn", None), "ping", None)
    if callable(ping):
        ping()  # Redis
    else:
        huey.pending_count()  # SQLite or in-memory storage: a read of the queue table

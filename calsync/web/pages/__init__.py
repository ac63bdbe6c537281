"""Placeholder: the pages blueprint (being written)."""

from flask import Blueprint

bp = Blueprint("pages", __name__)


@bp.get("/")
def inbox() -> str:
    return "inbox"


@bp.get("/deals")
def deals() -> str:
    return "deals"


@bp.get("/sources")
def sources() -> str:
    return "sources"


@bp.get("/settings")
def settings() -> str:
    return "settings"

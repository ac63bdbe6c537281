"""The site's icon, served from memory at /favicon.svg and at /favicon.ico (where browsers
look on their own), so no page asks for something that is not there.

Read once from the package: a browser often drops its icon request half-way (a page it
leaves), and an icon in memory holds no file open when it does.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from flask import Blueprint, Response

bp = Blueprint("icon", __name__)

MAX_AGE = 86_400  # a day: the icon changes with a release, not between visits


@cache
def _svg() -> bytes:
    return (files("calsync") / "static" / "favicon.svg").read_bytes()


# The .ico address first in the code, so url_for names the .svg one (the decorator nearest
# the function registers first).
@bp.get("/favicon.ico")
@bp.get("/favicon.svg")
def favicon() -> Response:
    response = Response(_svg(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response

"""The one place errors become HTTP responses: JSON for the API, a page for people.

Every response carries a code and a human sentence; nothing parses exception strings.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, StatementError
from werkzeug.exceptions import HTTPException

from calsync.errors import CalsyncError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > (
        request.accept_mimetypes["text/html"])


# Werkzeug's own descriptions speak to developers ("If you entered the URL manually please
# check your spelling"); these say the same to a person. A description given on purpose stays.
PLAIN_WORDS = {
    400: "That request was incomplete or malformed; nothing was changed.",
    404: "There's no page at this address.",
    405: "This address doesn't take that kind of request.",
    413: "That was too large to accept.",
}


def _described(error: HTTPException) -> str:
    if error.description == type(error).description and error.code in PLAIN_WORDS:
        return PLAIN_WORDS[error.code]
    return error.description or error.name


def error_response(status: int, code: str, message: str, **extra: object) -> Response:
    if wants_json():
        response = jsonify({"error": {"code": code, "message": message, **extra}})
    else:
        response = Response(render_template("error.html", status=status, message=message),
                            mimetype="text/html")
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(CalsyncError)
    def calsync_error(error: CalsyncError) -> Response:
        extra = {"field": error.field} if hasattr(error, "field") else {}
        return error_response(error.http_status, error.code, str(error), **extra)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        return error_response(400, "csrf", "This form expired or came from another site. "
                                           "Go back, reload the page and try again.")

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(error: Exception) -> Response:
        # A page number, an id or a date beyond what the database or datetime can hold:
        # the request is wrong, not the server. (Its unit of work is rolled back when the
        # request ends: calsync.db.)
        return error_response(422, "out_of_range",
                              "A number or date in the request is out of range.")

    @app.errorhandler(StatementError)
    def statement_error(error: StatementError) -> Response:
        if isinstance(error.orig, OverflowError):
            return out_of_range(error)
        return unexpected(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, _described(error))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s", request.path)
        return error_response(500, "internal", "Something went wrong on our side; "
                                               "nothing you entered was lost. Try again.")

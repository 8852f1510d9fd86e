"""Error responses: JSON for API and fetch clients, HTML pages otherwise."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood. Check the form and try again.",
    401: "Authentication is required.",
    403: "You do not have access to this page.",
    404: "There is nothing here. Check the address.",
    405: "This address does not accept that method.",
    409: "This conflicts with the current state (for example, the attempt is closed).",
    413: "The request is too large (the limit is 1 MiB).",
    415: "Unsupported content type.",
    429: "Too many requests. Wait a minute and try again.",
    500: "Something went wrong on our side. It has been logged; try again shortly.",
    503: "The service is temporarily unavailable. Try again shortly.",
}


def wants_json() -> bool:
    """API paths, fetch calls (Accept: application/json or a JSON body) get JSON."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, message: str | None = None, **extra):
    message = message or MESSAGES.get(status, "Error")
    if wants_json():
        return jsonify(error=message, status=status, **extra), status
    return render_template("error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_response(400, f"{error.description} Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if isinstance(error, InternalServerError):
            return internal_error(error)
        # Our own abort(…, description=...) messages are written for people; keep them.
        described = error.description if error.description != type(error).description else None
        if error.code == 429:  # the limiter's description is the limit itself
            described = f"{MESSAGES[429]} (limit: {error.description})"
        return error_response(error.code or 500, described)

    @app.errorhandler(Exception)
    def internal_error(error: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)

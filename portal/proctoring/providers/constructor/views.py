"""Constructor Proctor over HTTP: the review callback (machine) and the instructors'
re-queue of a failed finish call (people).

- `POST /api/constructor/review`: `Authorization: JWT <token>` (HS256 with
  CONSTRUCTOR_JWT_SECRET, `exp` required, 5 s leeway), else 401 naming the problem.
  The body is recorded raw and applied like a Supervisor delivery (results.py).
- `POST /dashboard/attempts/<id>/requeue-finish`: a CSRF-protected form button.
"""
from __future__ import annotations

import logging
from typing import Literal
from urllib.parse import urlsplit

import jwt
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from portal.auth.decorators import instructor_required
from portal.core import unit_of_work
from portal.core.openapi import Answer
from portal.exams.models import Attempt
from portal.extensions import csrf, db
from portal.proctoring import deliveries, results, tokens
from portal.proctoring.results import OUTCOMES
from portal.proctoring.outbox.jobs import JobConflict
from portal.proctoring.providers import constructor

bp = Blueprint("constructor", __name__)


class ReviewStored(Answer):
    """The review callback's answer (for the OpenAPI document)."""

    stored: bool
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]

log = logging.getLogger(__name__)

LEEWAY_SECONDS = 5


class Unauthorized(Exception):
    """The request does not prove it comes from Constructor; the message says why."""


def verify_request_token(header: str | None) -> dict:
    """The payload of a valid `Authorization: JWT <token>`. Raises Unauthorized (its
    message names the problem: missing, wrong scheme, bad signature, expired, no exp)."""
    if not header:
        raise Unauthorized("Missing Authorization header: send 'Authorization: JWT <token>'.")
    scheme, _, token = header.strip().partition(" ")
    if scheme.upper() != "JWT" or not token.strip():
        raise Unauthorized("The Authorization header must be 'JWT <token>'.")
    try:
        return tokens.decode(token.strip(), constructor.secret(), leeway=LEEWAY_SECONDS)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired (exp is in the past).") from None
    except jwt.MissingRequiredClaimError:
        raise Unauthorized("The token has no exp claim; exp is required.") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("The token's signature does not match the shared secret.") from None
    except jwt.InvalidAlgorithmError:
        raise Unauthorized("The token must be signed with HS256.") from None
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"The token is not valid: {error}") from None


@bp.errorhandler(SQLAlchemyError)
def storage_failed(error: SQLAlchemyError):
    """Nothing stored (the transaction is rolled back): 503, so the sender retries."""
    db.session.rollback()
    log.warning("constructor request not stored (%s): answered 503", type(error).__name__)
    return deliveries.storage_failed_response()


@bp.post("/api/constructor/review")
@csrf.exempt
def review():
    """Record a review, apply it by the ordering rule, answer 200 once stored (400, 413
    or 415, also stored, when it cannot be used; 409 for a Supervisor attempt's id)."""
    try:
        verify_request_token(request.headers.get("Authorization"))
    except constructor.NotConfigured as error:
        abort(503, description=str(error))
    except Unauthorized as error:
        log.warning("constructor review refused from %s: %s", request.remote_addr, error)
        response = jsonify(error=str(error), status=401)
        response.headers["WWW-Authenticate"] = 'JWT realm="constructor-review"'
        return response, 401
    received = deliveries.receive(request, constructor.VENDOR, "JWT", constructor.review_update)
    outcome = results.record_and_apply(received.raw, received.update, received.problem,
                                       identifier=received.identifier)
    # Stored by the request's unit of work, also when the answer is an error (the
    # review is recorded raw whatever it says); a failed commit is a 503 (retry).
    unit_of_work.keep()
    unit_of_work.on_commit_failure(storage_failed)
    if outcome == results.REFUSED:
        return deliveries.other_vendor_response()
    if received.status != 200:
        return jsonify(error=received.message, status=received.status,
                       problems=[p.as_dict() for p in received.problems]), received.status
    return jsonify(stored=True, outcome=outcome)


def _back() -> str:
    """Where the button was: a same-site path from the form's `next`, else the dashboard."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return "/dashboard"


@bp.post("/dashboard/attempts/<int:attempt_id>/requeue-finish")
@instructor_required
def requeue_finish(attempt_id: int):
    """Try a failed Constructor finish call again, with a fresh try budget."""
    attempt = db.session.get(Attempt, attempt_id) or abort(404)
    try:
        job = constructor.requeue_finish(attempt)
    except JobConflict as error:
        db.session.rollback()  # a redirect (303) would commit: nothing of it is kept
        flash(str(error), "error")
        return redirect(_back(), 303)
    user, job_id = current_user.username, job.id

    def queued() -> None:  # said only once it is stored
        current_app.logger.info("finish call of attempt %s re-queued by %s (job %s)",
                                attempt_id, user, job_id)
        flash("The finish call is queued again; the worker sends it within seconds.", "info")

    unit_of_work.after_commit(queued)
    return redirect(_back(), 303)

"""Endpoints the Supervisor page calls about its proctoring session (token, the SDK's stop
and metrics reports), the pages the SDK loads (framed, auto-start), and the links."""
from __future__ import annotations

import re

from flask import Blueprint, abort, jsonify, redirect, render_template, request
from flask_login import current_user

from portal.auth.decorators import instructor_required, student_required
from portal.core import jsonbody
from portal.exams import services as exams
from portal.exams.models import Attempt
from portal.errors import error_response
from portal.exams.views import domain_errors
from portal.extensions import db
from portal.proctoring import page_events, schemas
from portal.proctoring.providers import supervisor

# Named "proctoring" as before the move: templates, the page config and the OpenAPI
# document use its endpoint names.
bp = Blueprint("proctoring", __name__)

FRAME_DESTINATIONS = ("iframe", "frame")  # Sec-Fetch-Dest of a framed load


@bp.post("/api/attempts/<int:attempt_id>/token")
@student_required
@domain_errors
def token(attempt_id: int):
    """A fresh Supervisor token for the owner of an open attempt (CSRF-protected POST)."""
    attempt = exams.get_open_attempt(current_user, attempt_id, with_exam_and_user=True)
    return jsonify(token=supervisor.student_token(attempt))


@bp.get("/attempts/<int:attempt_id>/token-link")
@student_required
@domain_errors
def token_link(attempt_id: int):
    """Fallback without the SDK on our page: the proctoring server frames the test."""
    attempt = exams.get_shown_open_attempt(current_user, attempt_id)
    return redirect(supervisor.auth_link(supervisor.student_token(attempt, token_link=True)))


@bp.get("/attempts/<int:attempt_id>/framed")
@student_required
@domain_errors
def framed_attempt(attempt_id: int):
    """The test page as the proctoring server frames it (token link, Constructor).

    An open attempt loaded at top level (the browser says so: `Sec-Fetch-Dest:
    document`) is refused, with the way to start properly: outside the vendor's frame
    nobody proctors it. The page checks `window.top` too, for browsers that send no
    Sec-Fetch-Dest. A closed attempt shows its closed state wherever it is loaded."""
    attempt = exams.shown(exams.get_own_attempt(current_user, attempt_id))
    destination = request.headers.get("Sec-Fetch-Dest")
    if attempt.is_open and destination is not None and destination not in FRAME_DESTINATIONS:
        return render_template("exams/framed_refused.html", attempt=attempt,
                               exam=attempt.exam), 403
    return supervisor.render_test_page(attempt, framed=True)


@bp.get("/attempts/<int:attempt_id>/auto")
@student_required
@domain_errors
def auto_init_attempt(attempt_id: int):
    """The test page with the SDK's data-attribute auto-start (`data-supervisor="start"`).

    The one place a token is put into HTML rather than fetched by POST: the page goes
    only to the attempt's owner, while it is open, and is never cached."""
    attempt = exams.get_shown_open_attempt(current_user, attempt_id)
    auto_init = {"token": supervisor.student_token(attempt),
                 "referrer": supervisor.public_url("exams.attempt_page", attempt_id=attempt.id)}
    return supervisor.render_test_page(attempt, framed=False, auto_init=auto_init)


@bp.post("/api/attempts/<int:attempt_id>/stopped")
@student_required
@domain_errors
def stopped(attempt_id: int):
    """The SDK's `stop` event before submission: the server closes the attempt, recorded
    as reported by the page. The body is not read: a proctor's name is a fact only when
    the vendor says it (webhook, review), never from the page."""
    attempt = exams.get_own_attempt(current_user, attempt_id)
    closed = page_events.proctoring_stopped(attempt)
    return jsonify(state=attempt.state, closed=closed)


@bp.post("/api/attempts/<int:attempt_id>/metrics")
@student_required
@domain_errors
def metrics(attempt_id: int):
    attempt = exams.own_attempt_row(current_user, attempt_id)
    batch = jsonbody.parse(schemas.MetricsBatch)
    try:
        stored = page_events.record_metrics(attempt, batch.events())
    except page_events.InvalidSamples as error:
        abort(400, description=str(error))
    except page_events.TooManySamples as error:
        db.session.rollback()
        return error_response(429, str(error))  # not abort(): that reads as the limiter's
    return jsonify(stored=stored, **exams.clock(attempt))


@bp.post("/dashboard/attempts/<int:attempt_id>/proctor-link")
@instructor_required
def proctor_link(attempt_id: int):
    """Open as proctor: a short-lived proctor token link, made on click."""
    attempt = db.session.get(Attempt, attempt_id) or abort(404)
    return redirect(supervisor.proctor_link(attempt, re.sub(r"[^A-Za-z0-9_-]", "", current_user.username)))

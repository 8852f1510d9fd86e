"""The student's exam: overview, start, the single test page, its JSON API, the result."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, jsonify, redirect, render_template, url_for
from flask_login import current_user

from portal.auth.decorators import student_required
from portal.core import jsonbody, unit_of_work
from portal.db_types import utcnow
from portal.exams import answers, services, signals
from portal.exams.models import CLOSED_STATES, TERMINATED
from portal.exams.schemas import AnswerBody

bp = Blueprint("exams", __name__)


def domain_errors(view):
    """Map the services' outcomes to HTTP: NotFound 404, InvalidAnswer 400, conflict 409,
    an unconfirmed proctoring start 409 or 503 (JSON with `retry`).

    Maps only: the request's unit of work commits or rolls back (core/unit_of_work.py);
    what an error says must be kept (`keep_changes`) is kept through it."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except services.StartNotConfirmed as error:
            unit_of_work.keep()  # what the page and the vendor said is evidence
            status = 503 if error.unreachable else 409
            response = jsonify(error=str(error), status=status, retry=error.retry,
                               waiting=error.retry)
            response.status_code = status
            if error.unreachable:
                response.headers["Retry-After"] = "5"
            return response
        except services.NotFound as error:
            abort(404, description=str(error))
        except services.InvalidAnswer as error:
            abort(400, description=str(error))
        except services.AttemptConflict as error:
            if error.keep_changes:
                unit_of_work.keep()
            abort(409, description=str(error))
    return wrapped


@bp.get("/exams/<int:exam_id>")
@student_required
@domain_errors
def exam_page(exam_id: int):
    exam = services.get_exam(exam_id)
    attempt = next((a for e, a in services.student_overview(current_user) if e.id == exam.id), None)
    if attempt is None and not exam.is_available(utcnow()):
        raise services.NotFound(f"No exam {exam_id}.")
    vendor = attempt.vendor if attempt else services.vendor_for(exam)
    return render_template("exams/exam.html", exam=exam, attempt=attempt,
                           steps=signals.proctoring().student_steps(vendor, exam))


@bp.post("/exams/<int:exam_id>/start")
@student_required
@domain_errors
def start(exam_id: int):
    attempt = services.start_or_resume(current_user, services.get_exam(exam_id))
    # The attempt is the student's whatever the launch answers (e.g. 503 while the
    # portal lacks a vendor's secret): they come back to it.
    unit_of_work.keep()
    return signals.proctoring().launch(attempt)


@bp.get("/attempts/<int:attempt_id>")
@student_required
@domain_errors
def attempt_page(attempt_id: int):
    attempt = services.get_own_attempt(current_user, attempt_id)
    state = attempt.shown_state(utcnow())  # an overdue one shows as expired: no write
    if state in CLOSED_STATES and state != TERMINATED:
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    return signals.proctoring().test_page(attempt)


@bp.get("/attempts/<int:attempt_id>/result")
@student_required
@domain_errors
def result(attempt_id: int):
    attempt = services.shown(services.get_own_attempt(current_user, attempt_id))
    if attempt.is_open:
        return redirect(url_for("exams.attempt_page", attempt_id=attempt.id))
    return render_template("exams/result.html", attempt=attempt,
                           rows=answers.result_rows(attempt),
                           show_points=answers.points_visible(attempt))


@bp.get("/api/attempts/<int:attempt_id>/questions")
@student_required
@domain_errors
def questions(attempt_id: int):
    attempt = services.own_attempt_row(current_user, attempt_id)
    services.check_running(attempt)
    return jsonify(state=attempt.state, deadline=attempt.deadline_at.isoformat(),
                   now=utcnow().isoformat(), questions=answers.questions_for(attempt))


@bp.put("/api/attempts/<int:attempt_id>/answers/<int:question_id>")
@student_required
@domain_errors
def save_answer(attempt_id: int, question_id: int):
    attempt = services.own_attempt_row(current_user, attempt_id)
    body = jsonbody.parse(AnswerBody)
    answer = answers.save_answer(attempt, question_id, body.value)
    return jsonify(saved=True, question=question_id, value=answer.value,
                   updated_at=answer.updated_at.isoformat(), **services.clock(attempt))


@bp.post("/api/attempts/<int:attempt_id>/submit")
@student_required
@domain_errors
def submit(attempt_id: int):
    attempt = services.submit(services.get_own_attempt(current_user, attempt_id))
    return jsonify(state=attempt.state, score=attempt.score, max_score=attempt.max_score,
                   result_url=url_for("exams.result", attempt_id=attempt.id))


@bp.post("/api/attempts/<int:attempt_id>/started")
@student_required
@domain_errors
def started(attempt_id: int):
    """The page reports its proctoring session started: once the vendor confirms it (a
    status call for Constructor), the questions are released and the time limit starts.
    409/503 with `retry` while it does not (the page waits and asks again)."""
    attempt = services.report_started(services.get_own_attempt(current_user, attempt_id))
    return jsonify(state=attempt.state, started_at=attempt.started_at.isoformat(),
                   deadline=attempt.deadline_at.isoformat(), now=utcnow().isoformat())

"""The instructor's actions on the dashboard: allowances, reopen, review decisions.

Instructors only (the dashboard's own guard, as a `before_request`); CSRF on every form
(the app's CSRFProtect). Each view parses the form and calls one rule; the request's
unit of work commits the action and its history row together (core/unit_of_work.py),
and the message saying it was done is flashed only once they are stored. Bad input re-renders the page with the message
next to its field, with the status that says why (400, 404, 409), and changes nothing.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.core import unit_of_work
from portal.dashboard import links, queries, summaries
from portal.dashboard import views as dashboard_views
from portal.dashboard.filters import TableFilters
from portal.exams.models import Exam
from portal.extensions import db
from portal.instructor import allowances, decisions, panels, reopen
from portal.instructor.errors import ActionError
from portal.instructor.staff_log import Actor

bp = Blueprint("instructor", __name__, url_prefix="/dashboard")
bp.before_request(dashboard_views.instructors_only)
bp.context_processor(dashboard_views.helpers)


def _flash_once_stored(message: str) -> None:
    """Say it was done only if it was: flashed after the commit (the session cookie is
    written after that), never for an action whose commit failed."""
    unit_of_work.after_commit(lambda: flash(message, "info"))


def _exam_page(exam_id: int, error: ActionError | None = None):
    summary = summaries.exam_summary(exam_id) or abort(404)
    errors = {error.field or "form": str(error)} if error else {}
    panel = panels.exam_panel(exam_id, errors, request.form.to_dict() if error else {})
    html = render_template("dashboard/exam.html", summary=summary, filters=TableFilters(),
                           allowance_panel=panel, unmatched_count=summaries.unmatched_count(),
                           active="exams")
    return html, error.status if error else 200


def _attempt_page(attempt_id: int, error: ActionError):
    detail = queries.attempt_detail(attempt_id) or abort(404)
    panel = panels.attempt_panel(detail.attempt, detail.row.result,
                                 {error.field or "form": str(error)}, request.form.to_dict())
    html = render_template("dashboard/attempt.html", detail=detail, row=detail.row,
                           actions=panel, requeue_available=links.requeue_available(),
                           unmatched_count=summaries.unmatched_count(), active="results")
    return html, error.status


@bp.post("/exams/<int:exam_id>/allowances")
def add_allowance(exam_id: int):
    exam = db.session.get(Exam, exam_id) or abort(404)
    try:
        student = allowances.find_student(request.form.get("student"))
        minutes = allowances.parse_minutes(request.form.get("extra_minutes"))
        reason = allowances.clean_reason(request.form.get("reason"))
        allowances.add(exam, student, minutes, reason, Actor.of(current_user))
    except ActionError as error:
        db.session.rollback()  # the page re-rendered shows what is stored
        return _exam_page(exam_id, error)
    _flash_once_stored(f"{student.username} has {minutes} extra minutes in “{exam.title}”.")
    return redirect(url_for("dashboard.exam_summary", exam_id=exam_id) + "#allowances", 303)


@bp.post("/exams/<int:exam_id>/allowances/<int:allowance_id>/remove")
def remove_allowance(exam_id: int, allowance_id: int):
    db.session.get(Exam, exam_id) or abort(404)
    try:
        removed = allowances.remove(exam_id, allowance_id, Actor.of(current_user))
        message = (f"The allowance of {removed.extra_minutes} minutes for "
                   f"{removed.user.username} was removed.")
    except ActionError as error:
        db.session.rollback()  # the page re-rendered shows what is stored
        return _exam_page(exam_id, error)
    _flash_once_stored(message)
    return redirect(url_for("dashboard.exam_summary", exam_id=exam_id) + "#allowances", 303)


def _attempt_action(attempt_id: int, act):
    """Run `act(attempt)` (it raises ActionError on bad input and returns the flash
    message and the URL to go to), stored by the request's unit of work; or show the
    detail page with the message beside its field, nothing stored (404 for an unknown
    attempt)."""
    try:
        message, url = act(reopen.get_attempt(attempt_id))
    except ActionError as error:
        db.session.rollback()  # the page re-rendered shows what is stored
        if error.status == 404:
            abort(404, description=str(error))
        return _attempt_page(attempt_id, error)
    _flash_once_stored(message)
    return redirect(url, 303)


@bp.post("/attempts/<int:attempt_id>/reopen")
def reopen_attempt(attempt_id: int):
    def act(attempt):
        reason = allowances.clean_reason(request.form.get("reason"), "reopen_reason")
        new = reopen.reopen(attempt, reason, Actor.of(current_user))
        return (f"Reopened: {new.user.username} can take attempt {new.id} now; this one "
                "stays as it was.", url_for("dashboard.attempt", attempt_id=new.id))
    return _attempt_action(attempt_id, act)


@bp.post("/attempts/<int:attempt_id>/decision")
def record_decision(attempt_id: int):
    def act(attempt):
        decision = decisions.parse_decision(request.form.get("decision"))
        note = decisions.clean_note(request.form.get("note"))
        decisions.record(attempt, decision, note, Actor.of(current_user))
        return ("The decision is saved.",
                url_for("dashboard.attempt", attempt_id=attempt_id) + "#decision")
    return _attempt_action(attempt_id, act)

"""Allowances: extra minutes per student and exam, added and removed by staff (the rule
for an attempt's deadline that reads them is exams/deadlines.py).

Adding or removing an allowance moves the deadline of the student's running attempt in
the same transaction; an attempt not started yet gets it when it starts
(services.report_started). Tokens issued afterwards follow (providers read the stored
deadline, or `extra_minutes`). Functions here flush; the caller commits once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import contains_eager

from portal.auth.models import User
from portal.db_types import utcnow
from portal.exams import deadlines
from portal.exams.models import IN_PROGRESS, MAX_EXTRA_MINUTES, Allowance, Attempt, Exam
from portal.extensions import db
from portal.instructor import staff_log
from portal.instructor.errors import ActionError, ActionNotFound
from portal.instructor.staff_log import Actor

MAX_REASON = 2000


def for_exam(exam_id: int) -> list[Allowance]:
    """The exam's allowances, by student then time, with their students loaded."""
    return list(db.session.scalars(
        select(Allowance).join(Allowance.user).options(contains_eager(Allowance.user))
        .where(Allowance.exam_id == exam_id)
        .order_by(User.username, Allowance.created_at, Allowance.id)))


def parse_minutes(text: str | int | None) -> int:
    """Extra minutes from a form or the command line. Raises ActionError (field
    `extra_minutes`) unless a whole number from 1 to 1440 (24 hours)."""
    try:
        minutes = int(str(text).strip())
    except (TypeError, ValueError):
        raise ActionError("Extra minutes must be a whole number of minutes, e.g. 30.",
                          "extra_minutes") from None
    if minutes < 1 or minutes > MAX_EXTRA_MINUTES:
        raise ActionError(f"Extra minutes must be from 1 to {MAX_EXTRA_MINUTES} "
                          f"(24 hours); {minutes} is not.", "extra_minutes")
    return minutes


def clean_reason(text: str | None, field: str = "reason") -> str:
    """The reason, trimmed. Raises ActionError when it is missing or too long."""
    reason = (text or "").strip()
    if not reason:
        raise ActionError("A reason is required: say why (it is kept in the attempt's "
                          "history).", field)
    if len(reason) > MAX_REASON:
        raise ActionError(f"The reason is too long (at most {MAX_REASON} characters).", field)
    return reason


def find_student(username: str | None) -> User:
    """The student with this username. Raises ActionError (field `student`)."""
    name = (username or "").strip()
    if not name:
        raise ActionError("Enter the student's username.", "student")
    user = db.session.scalar(select(User).where(User.username == name))
    if user is None or user.role != "student":
        raise ActionError(f"There is no student with the username “{name[:100]}”.", "student")
    return user


def current_attempt(exam_id: int, user_id: int) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(
        Attempt.exam_id == exam_id, Attempt.user_id == user_id,
        Attempt.superseded_at.is_(None)))


def add(exam: Exam, student: User, minutes: int, reason: str, actor: Actor,
        now: datetime | None = None) -> Allowance:
    """Grant `minutes` more to the student in this exam (validated by the caller with
    parse_minutes / clean_reason), move a running attempt's deadline, log it."""
    now = now or utcnow()
    allowance = Allowance(exam_id=exam.id, user_id=student.id, extra_minutes=minutes,
                          reason=reason, created_by_id=actor.user_id,
                          created_by_name=actor.name, created_at=now)
    db.session.add(allowance)
    db.session.flush()
    attempt = current_attempt(exam.id, student.id)
    moved = _move_deadline(attempt)
    staff_log.record("allowance_added", actor, exam_id=exam.id, user_id=student.id,
                     attempt_id=attempt.id if attempt else None, reason=reason,
                     details={"extra_minutes": minutes, "allowance_id": allowance.id,
                              **moved}, now=now)
    return allowance


def remove(exam_id: int, allowance_id: int, actor: Actor, reason: str = "",
           now: datetime | None = None) -> Allowance:
    """Withdraw one allowance: a running attempt's deadline moves back (it may then be
    past: the attempt expires at its next request). Raises ActionNotFound."""
    allowance = db.session.get(Allowance, allowance_id)
    if allowance is None or allowance.exam_id != exam_id:
        raise ActionNotFound("That allowance does not exist (it may have been removed "
                             "already).")
    db.session.delete(allowance)
    db.session.flush()
    attempt = current_attempt(exam_id, allowance.user_id)
    moved = _move_deadline(attempt)
    staff_log.record("allowance_removed", actor, exam_id=exam_id, user_id=allowance.user_id,
                     attempt_id=attempt.id if attempt else None,
                     reason=reason or allowance.reason,
                     details={"extra_minutes": allowance.extra_minutes,
                              "allowance_id": allowance.id, **moved}, now=now)
    return allowance


def _move_deadline(attempt: Attempt | None) -> dict[str, str]:
    """Recompute a running attempt's deadline (a conditional UPDATE: an attempt that
    closed meanwhile is left alone). Returns the change for the log, or {}."""
    if attempt is None or attempt.state != IN_PROGRESS or attempt.started_at is None:
        return {}
    old = attempt.deadline_at
    new = deadlines.deadline_for(attempt.exam, attempt.user_id, attempt.started_at)
    written = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.state == IN_PROGRESS)
        .values(deadline_at=new, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.refresh(attempt)
    if written.rowcount != 1:
        return {}
    return {"deadline_from": old.isoformat() if old else "", "deadline_to": new.isoformat()}

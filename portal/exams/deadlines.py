"""The one rule for an attempt's deadline: start + time limit + the student's allowances
(extra minutes granted by staff, instructor/allowances.py), never past the exam's
`closes_at`."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.exams.models import Allowance, Exam
from portal.extensions import db


def extra_minutes(exam_id: int, user_id: int) -> int:
    """The student's extra minutes in this exam: the sum of their allowances (0: none)."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Allowance.extra_minutes), 0))
                                 .where(Allowance.exam_id == exam_id,
                                        Allowance.user_id == user_id)) or 0)


def deadline_for(exam: Exam, user_id: int, started_at: datetime) -> datetime:
    """The deadline of an attempt started at `started_at`: the time limit plus the
    student's allowances, capped at the exam's `closes_at` (when it has one)."""
    minutes = exam.time_limit_minutes + extra_minutes(exam.id, user_id)
    deadline = started_at + timedelta(minutes=minutes)
    if exam.closes_at is not None:
        deadline = min(deadline, exam.closes_at)
    return deadline

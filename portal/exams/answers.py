"""A running attempt's questions and answers: what the page shows, one answer saved, and
the result page's rows. The state rules they check are services.py's."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.util import identity_key

from portal.db_types import utcnow
from portal.exams import grading, reads, services
from portal.exams.models import Answer, Attempt
from portal.extensions import db


def questions_for(attempt: Attempt | reads.AttemptRow) -> list[dict[str, Any]]:
    """What the page needs to show the test, with the saved answers: no correct answers."""
    return reads.questions_with_answers(attempt)


@dataclass(frozen=True)
class SavedAnswer:
    """What a save stored: the validated value and when."""

    question_id: int
    value: Any
    updated_at: datetime


def save_answer(attempt: Attempt | reads.AttemptRow, question_id: int, value: Any,
                now: datetime | None = None) -> SavedAnswer:
    """Store one answer. Raises NotFound (not this exam's question), InvalidAnswer, or
    AttemptConflict (not running, or closed while this save was under way).

    Two statements once the question is known: the answer's upsert (the unique
    constraint decides between two concurrent first saves) and the attempt's touch."""
    now = now or utcnow()
    services.require_running(attempt, now)
    question = reads.question(question_id)
    if question is None or question.exam_id != attempt.exam_id:
        raise services.NotFound(f"Question {question_id} is not part of this exam.")
    try:
        value = grading.validate_answer(question, value)
    except ValueError as error:
        raise services.InvalidAnswer(str(error)) from None
    dialect = db.session.get_bind().dialect.name
    if dialect not in _UPSERT_ANSWER:
        raise RuntimeError(f"no race-free upsert for the {dialect} database")
    answer_id = db.session.connection().execute(_UPSERT_ANSWER[dialect], {
        "attempt_id": attempt.id, "question_id": question.id, "value": value,
        "updated_at": now}).scalar_one()
    cached = db.session.identity_map.get(identity_key(Answer, answer_id))
    if cached is not None:
        db.session.expire(cached)
    # Touch the attempt under its state condition: a submit or stop that committed
    # meanwhile makes this match no row, and the caller rolls the save back.
    if isinstance(attempt, Attempt):
        db.session.expire(attempt, ["answers"])
    if not services.touch_running(attempt, now):
        raise services.AttemptConflict(services.closed_message(services.loaded(attempt)))
    return SavedAnswer(question.id, value, now)


def _upsert_answer(make) -> Any:
    stmt = make(Answer.__table__)
    return stmt.on_conflict_do_update(
        index_elements=["attempt_id", "question_id"],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
    ).returning(Answer.__table__.c.id)


_UPSERT_ANSWER = {"postgresql": _upsert_answer(postgresql_insert),
                  "sqlite": _upsert_answer(sqlite_insert)}
def points_visible(attempt: Attempt, now: datetime | None = None) -> bool:
    """May the student see points per question? As the exam's `show_points` says:
    after_submission (once the attempt is closed), after_close (once the exam has closed
    for everyone, so the result is no answer key for classmates), or never."""
    now = now or utcnow()
    rule = attempt.exam.show_points
    if attempt.is_open or rule == "never":
        return False
    if rule == "after_submission":
        return True
    return attempt.exam.has_closed(now)


def result_rows(attempt: Attempt) -> list[dict[str, Any]]:
    """Per question: prompt, the student's answer in words, points earned/possible."""
    saved = {a.question_id: a for a in attempt.answers}
    rows = []
    for q in attempt.exam.questions:
        answer = saved.get(q.id)
        value = answer.value if answer else None
        if q.kind == "single" and value is not None:
            text = q.options[value]
        elif q.kind == "multiple" and value:
            text = ", ".join(q.options[i] for i in value)
        else:
            text = value or ""
        if answer is None:
            points = 0
        elif answer.points is None and not attempt.is_open:  # shown expired, not graded yet
            points = grading.points_for(q, answer.value)
        else:
            points = answer.points or 0
        rows.append({"prompt": q.prompt, "answer": text, "points": points, "max": q.points})
    return rows

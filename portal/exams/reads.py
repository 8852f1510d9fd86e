"""The reads of the exam-day requests (metrics posts, answer saves, question fetches), in
SQL Core: each is one statement built once, on the session's connection.

These requests are most of an exam's traffic. An identity-mapped ORM object costs about
four times the statement that loads it (0.3 against 0.07 ms here, docs/benchmarks.md),
and these requests change nothing through the ORM: what they write goes through the
conditional UPDATEs and upserts of services.py, which check the attempt's state again
inside the transaction. A read here does not autoflush: no caller has pending ORM
changes when it runs (they run first thing in their request).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from portal.exams.models import Answer, Attempt, Question, is_overdue, state_shown
from portal.extensions import db


@dataclass(frozen=True)
class AttemptRow:
    """An attempt as one read found it: enough to check its owner, state and time."""

    id: int
    user_id: int
    exam_id: int
    state: str
    deadline_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return is_overdue(self.state, self.deadline_at, now)

    def shown_state(self, now: datetime) -> str:
        return state_shown(self.state, self.deadline_at, now)


@dataclass(frozen=True)
class QuestionRow:
    """A question without its correct answers (what validation and the page need)."""

    id: int
    exam_id: int
    kind: str
    prompt: str
    options: list[str]
    points: float


def own_attempt(user_id: int, attempt_id: int) -> AttemptRow | None:
    """The attempt if it is this user's, else None (never reveals others')."""
    row = _execute(_OWN_ATTEMPT, attempt_id=attempt_id, user_id=user_id).first()
    return AttemptRow(*row) if row else None


def question(question_id: int) -> QuestionRow | None:
    row = _execute(_QUESTION, question_id=question_id).first()
    return QuestionRow(*row) if row else None


def questions_with_answers(attempt: AttemptRow | Attempt) -> list[dict[str, Any]]:
    """The exam's questions in order, each with the answer saved in this attempt (None if
    none): two statements, no correct answers."""
    saved = dict(_execute(_SAVED, attempt_id=attempt.id).all())
    return [{"id": q.id, "kind": q.kind, "prompt": q.prompt, "options": q.options,
             "points": q.points, "answer": saved.get(q.id)}
            for q in (QuestionRow(*row) for row in
                      _execute(_QUESTIONS, exam_id=attempt.exam_id))]


def _execute(statement, **parameters):
    return db.session.connection().execute(statement, parameters)


_a, _q, _ans = Attempt.__table__, Question.__table__, Answer.__table__
_OWN_ATTEMPT = (select(_a.c.id, _a.c.user_id, _a.c.exam_id, _a.c.state, _a.c.deadline_at)
                .where(_a.c.id == bindparam("attempt_id"), _a.c.user_id == bindparam("user_id")))
_QUESTION_COLUMNS = (_q.c.id, _q.c.exam_id, _q.c.kind, _q.c.prompt, _q.c.options, _q.c.points)
_QUESTION = select(*_QUESTION_COLUMNS).where(_q.c.id == bindparam("question_id"))
_QUESTIONS = (select(*_QUESTION_COLUMNS).where(_q.c.exam_id == bindparam("exam_id"))
              .order_by(_q.c.position))
_SAVED = select(_ans.c.question_id, _ans.c.value).where(_ans.c.attempt_id == bindparam("attempt_id"))

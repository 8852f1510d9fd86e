"""The dashboard table's reads of staff decisions, as parts of its one statement."""
from __future__ import annotations

from sqlalchemy import Select, not_, select
from sqlalchemy.sql.elements import ColumnElement

from portal.exams.models import Attempt
from portal.instructor.models import ReviewDecision


def undecided() -> ColumnElement[bool]:
    """No staff decision on the row's attempt (the "needs review" filter's half)."""
    # Correlated to the attempt only: the table's statement has review_decisions joined too.
    return not_(select(ReviewDecision.id).where(ReviewDecision.attempt_id == Attempt.id)
                .correlate(Attempt).exists())


def with_decision(stmt: Select) -> Select:
    """The table's statement outer-joined to each attempt's decision (one per attempt):
    no query of its own, whatever the number of rows."""
    return stmt.outerjoin(ReviewDecision, ReviewDecision.attempt_id == Attempt.id)

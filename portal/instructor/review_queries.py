"""The dashboard table's reads of staff decisions: a fixed number of queries per page."""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import exists, not_, select
from sqlalchemy.sql.elements import ColumnElement

from portal.exams.models import Attempt
from portal.extensions import db
from portal.instructor.models import ReviewDecision


def undecided() -> ColumnElement[bool]:
    """No staff decision on the row's attempt (the "needs review" filter's half)."""
    return not_(exists().where(ReviewDecision.attempt_id == Attempt.id))


def by_attempt(ids: Sequence[int]) -> dict[int, ReviewDecision]:
    """The decisions of these attempts, by attempt id (one query)."""
    if not ids:
        return {}
    return {d.attempt_id: d for d in db.session.scalars(
        select(ReviewDecision).where(ReviewDecision.attempt_id.in_(ids)))}

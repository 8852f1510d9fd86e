"""Review decisions: staff's word on a closed attempt, beside the proctor's verdict.

Kept in its own table (instructor.models.ReviewDecision): the delivery path
(proctoring/results.py) never reads or writes it, so a vendor's later delivery updates
the verdict and never the decision. The decision remembers the verdict it was made on.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.db_types import utcnow
from portal.exams import services
from portal.exams.models import Attempt
from portal.extensions import db
from portal.instructor import staff_log
from portal.instructor.errors import ActionConflict, ActionError
from portal.instructor.models import DECISIONS, ReviewDecision
from portal.instructor.staff_log import Actor
from portal.proctoring.models import ProctoringResult

MAX_NOTE = 5000


def parse_decision(value: str | None) -> str:
    """Raises ActionError (field `decision`) unless one of DECISIONS."""
    if value not in DECISIONS:
        raise ActionError("Choose a decision: confirm the proctor's verdict, accept or "
                          "reject.", "decision")
    return value


def clean_note(text: str | None) -> str:
    note = (text or "").strip()
    if len(note) > MAX_NOTE:
        raise ActionError(f"The note is too long (at most {MAX_NOTE} characters).", "note")
    return note


def for_attempt(attempt_id: int) -> ReviewDecision | None:
    return db.session.scalar(select(ReviewDecision).where(
        ReviewDecision.attempt_id == attempt_id))


def verdict_of(attempt: Attempt) -> str | None:
    return db.session.scalar(select(ProctoringResult.status).where(
        ProctoringResult.attempt_id == attempt.id))


def record(attempt: Attempt, decision: str, note: str, actor: Actor,
           now: datetime | None = None) -> ReviewDecision:
    """Record (or replace) the decision on a closed attempt, and log it.

    Raises ActionConflict while the attempt is open (there is nothing final to review)."""
    now = now or utcnow()
    services.expire_if_due(attempt, now)
    if attempt.is_open:
        raise ActionConflict("This attempt is still open: record a decision once it has "
                             "closed.", "decision")
    verdict = verdict_of(attempt)
    row = for_attempt(attempt.id)
    if row is None:
        try:
            with db.session.begin_nested():
                row = ReviewDecision(attempt_id=attempt.id, decision=decision, note=note,
                                     decided_by_name=actor.name)
                db.session.add(row)
            previous = None
        except IntegrityError:  # a concurrent first decision won: this one replaces it
            row = for_attempt(attempt.id)
            previous = row.decision
    else:
        previous = row.decision
    row.decision, row.note, row.verdict_status = decision, note, verdict
    row.decided_by_id, row.decided_by_name, row.decided_at = actor.user_id, actor.name, now
    db.session.flush()
    staff_log.record("decision", actor, exam_id=attempt.exam_id, user_id=attempt.user_id,
                     attempt_id=attempt.id, reason=note,
                     details={"decision": decision, "verdict": verdict,
                              "replaces": previous}, now=now)
    return row


def verdict_changed(decision: ReviewDecision | None, result: ProctoringResult | None) -> bool:
    """The proctor's verdict is not the one the decision was made on (a delivery applied
    after the decision changed it)."""
    if decision is None or result is None:
        return False
    return result.status != decision.verdict_status and (
        result.updated_at is None or result.updated_at >= decision.decided_at)

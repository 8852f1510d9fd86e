"""Reopen: a closed attempt is replaced by a new one for the same student and exam.

The old attempt keeps its answers, grade, results and deliveries, read-only (it is
closed, and no longer the student's current attempt: `superseded_at`); the new one has a
new proctoring `identifier` and names the old one (`reopened_from_id`). The old session
ends for good at the vendor (providers' `attempt_superseded`, e.g. Constructor's finish
call through the outbox). Nothing else ever gives a closed attempt a successor: the
student's Start exam returns the closed attempt (services.start_or_resume).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from portal.db_types import utcnow
from portal.exams import services
from portal.exams.models import Attempt
from portal.extensions import db
from portal.instructor import staff_log
from portal.instructor.errors import ActionConflict, ActionNotFound
from portal.instructor.staff_log import Actor
from portal.proctoring import providers


def successor(attempt: Attempt) -> Attempt | None:
    """The attempt that replaced this one, if it was reopened."""
    return db.session.scalar(select(Attempt).where(Attempt.reopened_from_id == attempt.id))


def get_attempt(attempt_id: int) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise ActionNotFound(f"There is no attempt {attempt_id}.")
    return attempt


def reopen(attempt: Attempt, reason: str, actor: Actor, now: datetime | None = None) -> Attempt:
    """Give the student a new attempt in place of this closed one (reason validated by
    the caller). Returns the new attempt, flushed, in the caller's transaction.

    Raises ActionConflict when the attempt is open, already reopened, or the exam has
    closed (a new attempt could not start)."""
    now = now or utcnow()
    services.expire_if_due(attempt, now)
    if attempt.is_open:
        raise ActionConflict("This attempt is still open: only a closed attempt can be "
                             "reopened.")
    if not attempt.is_current:
        later = successor(attempt)
        raise ActionConflict("This attempt was already reopened"
                             + (f" as attempt {later.id}." if later else "."))
    exam = attempt.exam
    if exam.has_closed(now):
        raise ActionConflict("The exam has closed: a reopened attempt could not start. "
                             "Move the exam's closing time first.")
    # Conditional: of two concurrent reopens, one marks it superseded, the other stops.
    marked = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.superseded_at.is_(None))
        .values(superseded_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    db.session.refresh(attempt)
    if marked.rowcount != 1:
        raise ActionConflict("This attempt was already reopened.")
    new = Attempt(exam_id=exam.id, user_id=attempt.user_id, vendor=services.vendor_for(exam),
                  reopened_from_id=attempt.id, created_at=now)
    db.session.add(new)
    db.session.flush()
    providers.for_vendor(attempt.vendor).attempt_superseded(attempt)
    staff_log.record("reopened", actor, exam_id=exam.id, user_id=attempt.user_id,
                     attempt_id=attempt.id, reason=reason,
                     details={"new_attempt_id": new.id, "old_identifier": attempt.identifier,
                              "new_identifier": new.identifier}, now=now)
    return new

"""The attempt state machine and the rules around it.

States: created -> in_progress -> submitted | terminated | expired (and created ->
terminated when proctoring ends before the start). Every change is a conditional
UPDATE (`_transition`), so two requests or two workers can never both close an attempt.
Functions here add to the session and flush; none commits (a request's unit of work,
core/unit_of_work.py, or the CLI command or worker that called them commits once).

Expiry: an overdue attempt (in progress, deadline passed) is closed only by writers:
any writing request about it (`expire_if_due` in get_open_attempt, report_started,
require_running...), the worker's sweep and `flask exams expire` (`expire_overdue`).
Readers show it as closed without writing (`shown`, `check_open`, `check_running`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.auth.models import User
from portal.db_types import UTCDateTime, utcnow
from portal.exams import deadlines, grading, reads, signals
from portal.exams.models import (CLOSED_STATES, CREATED, EXPIRED, IN_PROGRESS, OPEN_STATES,
                                 SUBMITTED, TERMINATED, Answer, Attempt, Exam)
from portal.extensions import db


class AttemptConflict(Exception):
    """The attempt's state does not allow this (HTTP 409); the message says why.

    `keep_changes`: the attempt was closed on the way (its deadline had passed), and
    that closure must be committed although the request itself is refused."""

    def __init__(self, message: str, keep_changes: bool = False):
        super().__init__(message)
        self.keep_changes = keep_changes


class StartNotConfirmed(AttemptConflict):
    """The proctoring server does not (yet) confirm the session the page reports started:
    no questions. HTTP 503 when it was unreachable, else 409; `retry`: asking again soon
    may succeed. What was learned is kept (`keep_changes`)."""

    def __init__(self, message: str, retry: bool, unreachable: bool):
        super().__init__(message, keep_changes=True)
        self.retry = retry
        self.unreachable = unreachable


class NotFound(Exception):
    """No such exam, attempt or question for this user (HTTP 404)."""


class InvalidAnswer(ValueError):
    """An answer that does not fit its question (HTTP 400)."""


# ---- lookups -------------------------------------------------------------------------

def student_overview(user: User, now: datetime | None = None) -> list[tuple[Exam, Attempt | None]]:
    """The exams a student can see: available now, or already attempted."""
    now = now or utcnow()
    attempts = {a.exam_id: a for a in db.session.scalars(
        select(Attempt).where(Attempt.user_id == user.id, Attempt.superseded_at.is_(None)))}
    exams = db.session.scalars(select(Exam).order_by(Exam.opens_at, Exam.title))
    return [(exam, attempts.get(exam.id)) for exam in exams
            if exam.id in attempts or exam.is_available(now)]


def get_exam(exam_id: int) -> Exam:
    exam = db.session.get(Exam, exam_id)
    if exam is None:
        raise NotFound(f"No exam {exam_id}.")
    return exam


def get_own_attempt(user: User, attempt_id: int, *, with_exam_and_user: bool = False) -> Attempt:
    """The attempt if it is this user's; NotFound otherwise (never reveal others').

    `with_exam_and_user`: its exam and user loaded in the same statement (a token's
    payload reads both)."""
    attempt = db.session.get(Attempt, attempt_id,
                             options=_EXAM_AND_USER if with_exam_and_user else ())
    if attempt is None or attempt.user_id != user.id:
        raise NotFound(f"No attempt {attempt_id}.")
    return attempt


_EXAM_AND_USER = (joinedload(Attempt.exam), joinedload(Attempt.user))


def own_attempt_row(user: User, attempt_id: int) -> reads.AttemptRow:
    """`get_own_attempt` for the exam-day endpoints (metrics posts, answer saves,
    question fetches): the attempt's row read in one statement, no ORM object. The
    functions below that take an attempt take either."""
    row = reads.own_attempt(user.id, attempt_id)
    if row is None:
        raise NotFound(f"No attempt {attempt_id}.")
    return row


def get_open_attempt(user: User, attempt_id: int, now: datetime | None = None, *,
                     with_exam_and_user: bool = False) -> Attempt:
    """The user's attempt while it is open (expired first if its time is up), for a
    writing request. Raises NotFound (not this user's) or AttemptConflict (closed)."""
    attempt = get_own_attempt(user, attempt_id, with_exam_and_user=with_exam_and_user)
    expired = expire_if_due(attempt, now)
    if not attempt.is_open:
        raise AttemptConflict(closed_message(attempt), keep_changes=expired)
    return attempt


def get_shown_open_attempt(user: User, attempt_id: int,
                           now: datetime | None = None) -> Attempt:
    """`get_open_attempt` for a reading request: nothing is written, an overdue attempt
    is refused as closed. Raises NotFound or AttemptConflict."""
    attempt = get_own_attempt(user, attempt_id)
    check_open(attempt, now)
    return attempt


def check_open(attempt: Attempt, now: datetime | None = None) -> None:
    """Raise AttemptConflict unless the attempt is open as shown now (no write)."""
    state = attempt.shown_state(now or utcnow())
    if state not in OPEN_STATES:
        raise AttemptConflict(closed_message(attempt, state))


def vendor_for(exam: Exam) -> str:
    return exam.vendor or current_app.config["PROCTOR_VENDOR"]


# ---- state changes -------------------------------------------------------------------

def _transition(attempt: Attempt, from_states: tuple[str, ...], to_state: str,
                **values: Any) -> bool:
    """Move the attempt to `to_state` only if it is still in one of `from_states`."""
    result = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state.in_(from_states))
        .values(state=to_state, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    db.session.refresh(attempt)
    return result.rowcount == 1


def start_or_resume(user: User, exam: Exam, now: datetime | None = None) -> Attempt:
    """The current attempt of this student for this exam (one an instructor reopened
    is replaced by its successor), created if needed; a closed one is returned as is:
    only an instructor's reopen gives a new attempt.

    Two concurrent starts end with one attempt (the partial unique index decides).
    Raises AttemptConflict when the exam is not open and there is no attempt yet.
    """
    now = now or utcnow()
    current = (Attempt.exam_id == exam.id, Attempt.user_id == user.id,
               Attempt.superseded_at.is_(None))
    existing = db.session.scalar(select(Attempt).where(*current))
    if existing is not None:
        return existing
    if not exam.is_available(now):
        raise AttemptConflict("This exam is not open now.")
    try:
        with db.session.begin_nested():
            attempt = Attempt(exam_id=exam.id, user_id=user.id, vendor=vendor_for(exam))
            db.session.add(attempt)
    except IntegrityError:
        attempt = db.session.scalar(select(Attempt).where(*current))
    else:
        signals.attempt_created.send(attempt)  # a result may have arrived before it
    return attempt


def report_started(attempt: Attempt, now: datetime | None = None) -> Attempt:
    """The page reports that its proctoring session started: once the attempt's provider
    confirms it, the questions are released and the time limit counts from now.

    The report itself is recorded as the page's claim (`page_started_at`), whatever
    follows. The confirmation comes from the app's proctoring hooks (signals.py). Idempotent for a running attempt (a reload reports again). Raises
    StartNotConfirmed when the vendor does not confirm the start, AttemptConflict for a
    closed attempt, or when the exam closed before the start.
    """
    now = now or utcnow()
    exam = attempt.exam
    closed_before_start = exam.closes_at is not None and now >= exam.closes_at
    check = signals.CONFIRMED
    if attempt.state == CREATED and not closed_before_start:
        # Asked before this request writes anything: no database lock is held while
        # the vendor answers (SQLite has one for the whole database).
        check = signals.proctoring().confirm_start(attempt, now)
    if attempt.page_started_at is None:
        attempt.page_started_at = now
    db.session.flush()
    if attempt.state == CREATED:
        if closed_before_start:
            raise AttemptConflict("The exam closed before the test started.", keep_changes=True)
        if not check.confirmed:
            raise StartNotConfirmed(check.message, check.retry, check.unreachable)
        deadline = deadlines.deadline_for(exam, attempt.user_id, now)
        _transition(attempt, (CREATED,), IN_PROGRESS, started_at=now, deadline_at=deadline)
    expired = expire_if_due(attempt, now)
    if attempt.state != IN_PROGRESS:
        raise AttemptConflict(closed_message(attempt), keep_changes=expired)
    return attempt


def require_running(attempt: Attempt | reads.AttemptRow, now: datetime | None = None) -> None:
    """For a writer: raise AttemptConflict unless the attempt is in progress and within
    its time (an overdue one is closed on the way, and that is kept)."""
    now = now or utcnow()
    expired = expire_if_due(attempt, now)
    current = loaded(attempt) if expired else attempt  # a row read before is out of date
    if current.state == CREATED:
        raise AttemptConflict("The proctoring session has not started yet.")
    if current.state != IN_PROGRESS:
        raise AttemptConflict(closed_message(current), keep_changes=expired)


def check_running(attempt: Attempt | reads.AttemptRow, now: datetime | None = None) -> None:
    """`require_running` for a reader: the same answers, from the state shown now,
    without writing."""
    state = attempt.shown_state(now or utcnow())
    if state == CREATED:
        raise AttemptConflict("The proctoring session has not started yet.")
    if state != IN_PROGRESS:
        raise AttemptConflict(closed_message(attempt, state))


def lock_running(attempt: Attempt | reads.AttemptRow, now: datetime | None = None) -> None:
    """Hold the running attempt for the rest of the transaction, so that concurrent
    requests about it are counted one after the other: a conditional UPDATE (a row lock
    on PostgreSQL, the database's write lock on SQLite). Raises AttemptConflict unless it
    is in progress and within its time (also when it closed meanwhile)."""
    require_running(attempt, now)
    if not touch_running(attempt, now):
        raise AttemptConflict(closed_message(loaded(attempt)))


def touch_running(attempt: Attempt | reads.AttemptRow, now: datetime | None = None) -> bool:
    """The conditional UPDATE of a running attempt (its `updated_at` only): True if it
    is still in progress. A statement built once; a loaded attempt's state reloads on
    next use (no refresh unless someone reads it)."""
    touched = db.session.connection().execute(_TOUCH_RUNNING, {"attempt_id": attempt.id,
                                                               "now": now or utcnow()})
    if isinstance(attempt, Attempt):
        db.session.expire(attempt, ["state", "updated_at"])
    return touched.rowcount == 1


def loaded(attempt: Attempt | reads.AttemptRow) -> Attempt:
    """The ORM attempt (from the identity map if loaded) for a row read by `reads`."""
    return attempt if isinstance(attempt, Attempt) else db.session.get(Attempt, attempt.id)


def clock(attempt: Attempt | reads.AttemptRow, now: datetime | None = None) -> dict[str, str | None]:
    """The attempt's current deadline and the server's time (ISO-8601), for the page's
    timer: every answer save and metrics post carries them, so a deadline an instructor
    moved reaches the page within one of its requests."""
    deadline = attempt.deadline_at
    return {"deadline": deadline.isoformat() if deadline else None,
            "now": (now or utcnow()).isoformat()}


def closed_message(attempt: Attempt | reads.AttemptRow, state: str | None = None) -> str:
    """Why the attempt takes no more work, for its state (or the `state` shown now)."""
    return {
        SUBMITTED: "This attempt was already submitted.",
        EXPIRED: "The time limit has passed; the attempt was closed with the saved answers.",
        TERMINATED: "The proctoring session ended; the attempt is closed.",
    }.get(state or attempt.state, "The attempt is not open.")


EXPIRY_REASON = "Time limit reached."


def expire_if_due(attempt: Attempt | reads.AttemptRow, now: datetime | None = None) -> bool:
    """Writers only: close the attempt as expired if it is overdue (graded, the
    `attempt_closed` signal sent). True if this closed it."""
    now = now or utcnow()
    if attempt.overdue(now):
        return close_attempt(loaded(attempt), EXPIRED, EXPIRY_REASON, now)
    return False


def expire_overdue(now: datetime | None = None) -> int:
    """Close every running attempt whose deadline has passed (the worker's sweep and
    `flask exams expire`; the caller commits). Returns how many."""
    now = now or utcnow()
    overdue = db.session.scalars(select(Attempt).where(Attempt.overdue(now))).all()
    return sum(close_attempt(a, EXPIRED, EXPIRY_REASON, now) for a in overdue)


class ShownAttempt:
    """An overdue attempt as readers show it now, without writing: expired at its
    deadline, with the score `grade` would give its saved answers. Everything else is
    the attempt's own (read through)."""

    def __init__(self, attempt: Attempt, now: datetime):
        self._attempt = attempt
        self.state = EXPIRED
        self.closed_at = attempt.shown_closed_at(now)
        self.close_reason = EXPIRY_REASON
        self.score, self.max_score = score_of(attempt)

    is_open = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._attempt, name)


def shown(attempt: Attempt, now: datetime | None = None) -> Attempt | ShownAttempt:
    """The attempt as a page shows it now: itself, or for an overdue one a ShownAttempt
    (expired, graded) until a writer closes the row."""
    now = now or utcnow()
    if attempt.overdue(now):
        return ShownAttempt(attempt, now)
    return attempt


def close_attempt(attempt: Attempt, to_state: str, reason: str,
                  now: datetime | None = None) -> bool:
    """Close an open attempt, grade what was saved, and send `attempt_closed` (in the
    same transaction, e.g. to enqueue a finish call). False if it was already closed."""
    assert to_state in CLOSED_STATES
    now = now or utcnow()
    from_states = (IN_PROGRESS,) if to_state in (SUBMITTED, EXPIRED) else OPEN_STATES
    if not _transition(attempt, from_states, to_state, closed_at=now, close_reason=reason):
        return False
    score, max_score = grade(attempt)
    attempt.score, attempt.max_score = score, max_score
    signals.attempt_closed.send(attempt)
    db.session.flush()
    return True


def submit(attempt: Attempt, now: datetime | None = None) -> Attempt:
    """Grade and close. Raises AttemptConflict if not running (after the deadline the
    attempt is closed as expired with what was saved, and the submit is refused)."""
    now = now or utcnow()
    require_running(attempt, now)
    if not close_attempt(attempt, SUBMITTED, "Submitted by the student.", now):
        raise AttemptConflict(closed_message(attempt))
    return attempt


def terminate(attempt: Attempt, reason: str, now: datetime | None = None) -> bool:
    """Proctoring ended before submission: close with the saved answers. An attempt
    already past its deadline closes as expired instead: the time limit ended it (the
    page's timer stops the session at the deadline, and the vendor's "stopped" delivery
    may arrive before anything else closed the row; no page view closes it any more)."""
    now = now or utcnow()
    return expire_if_due(attempt, now) or close_attempt(attempt, TERMINATED, reason, now)


PAGE_STOP_REASON = "The page reported that the proctoring session ended."


def page_reported_stop(attempt: Attempt, now: datetime | None = None) -> bool:
    """The page reports the SDK's `stop` event: recorded as the page's claim
    (`page_stopped_at`) and the attempt closes (terminated, saved answers kept), in the
    page's words, never naming a proctor the page chose. False if already closed."""
    now = now or utcnow()
    if attempt.page_stopped_at is None:
        attempt.page_stopped_at = now
        db.session.flush()
    # At the deadline the proctoring server may stop the session as the page's timer
    # ends it: that is the time limit, not an ended session.
    return terminate(attempt, PAGE_STOP_REASON, now)


def record_vendor_news(attempt: Attempt, status: str | None, now: datetime | None = None) -> None:
    """A delivery from the attempt's own proctoring server arrived (webhook, review):
    the first one's time is kept, and a status that shows the session ran confirms its
    start. In the caller's transaction; `attempt`'s evidence columns reload on next use."""
    db.session.flush()
    if note_vendor_news(attempt.id, status, now):
        db.session.expire(attempt, ["vendor_first_delivery_at", "vendor_started_at",
                                    "updated_at"])


def note_vendor_news(attempt_id: int, status: str | None, now: datetime | None = None) -> bool:
    """`record_vendor_news` by the attempt's id, for callers that hold no Attempt object:
    one conditional UPDATE that writes only a time still missing. True if it wrote."""
    ran = status in SESSION_RAN_STATUSES
    now = now or utcnow()
    written = db.session.execute(_NEWS_RAN if ran else _NEWS, {"attempt_id": attempt_id,
                                                               "now": now})
    return written.rowcount == 1


# Result statuses that mean the session ran (skipped: it never started).
SESSION_RAN_STATUSES = ("started", "stopped", "accepted", "rejected")


_attempts = Attempt.__table__
_NOW = bindparam("now", type_=UTCDateTime())
_NEWS = (update(_attempts)
         .where(_attempts.c.id == bindparam("attempt_id"),
                _attempts.c.vendor_first_delivery_at.is_(None))
         .values(vendor_first_delivery_at=_NOW, updated_at=_NOW))
_NEWS_RAN = (update(_attempts)
             .where(_attempts.c.id == bindparam("attempt_id"),
                    or_(_attempts.c.vendor_first_delivery_at.is_(None),
                        _attempts.c.vendor_started_at.is_(None)))
             .values(vendor_first_delivery_at=func.coalesce(
                         _attempts.c.vendor_first_delivery_at, _NOW),
                     vendor_started_at=func.coalesce(_attempts.c.vendor_started_at,
                                                     _NOW),
                     updated_at=_NOW))


_TOUCH_RUNNING = (update(Attempt.__table__)
                  .where(Attempt.__table__.c.id == bindparam("attempt_id"),
                         Attempt.__table__.c.state == IN_PROGRESS)
                  .values(state=IN_PROGRESS,
                          updated_at=bindparam("now", type_=UTCDateTime())))


# ---- grading (the answers themselves: answers.py) -------------------------------------

def score_of(attempt: Attempt) -> tuple[float, float]:
    """What `grade` would give the saved answers, stored nowhere: (score, maximum)."""
    saved = {a.question_id: a for a in attempt.answers}
    score = max_score = 0.0
    for question in attempt.exam.questions:
        max_score += question.points
        answer = saved.get(question.id)
        if answer is not None:
            score += grading.points_for(question, answer.value)
    return score, max_score


def grade(attempt: Attempt) -> tuple[float, float]:
    """Score the saved answers; stores each answer's points. Returns (score, maximum)."""
    saved = {a.question_id: a for a in db.session.scalars(
        select(Answer).where(Answer.attempt_id == attempt.id))}
    score = max_score = 0.0
    for question in attempt.exam.questions:
        max_score += question.points
        answer = saved.get(question.id)
        if answer is not None:
            answer.points = grading.points_for(question, answer.value)
            score += answer.points
    return score, max_score

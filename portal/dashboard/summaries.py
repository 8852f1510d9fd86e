"""The dashboard's overviews: per exam (counts, score distribution, mean metric
averages) and the results that match no attempt. A fixed number of queries each."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, func, select

from portal.dashboard import flags
from portal.dashboard.filters import NO_RESULT
from portal.dashboard.queries import flag_context, joined_attempts
from portal.exams.models import ATTEMPT_STATES, Attempt, Exam
from portal.extensions import db
from portal.proctoring.metrics import METRIC_NAMES
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from portal.proctoring.vocabulary import RESULT_STATUSES, VERDICT_STATUSES

UNMATCHED_LIMIT = 200
INVALID_LIMIT = 50


# ---- exams ---------------------------------------------------------------------------

@dataclass
class ExamLine:
    exam: Exam
    attempts: int
    flagged: int
    verdicts: int


def exams_overview(ctx: flags.FlagContext | None = None) -> list[ExamLine]:
    """Each exam with its number of attempts, flagged attempts and verdicts."""
    ctx = ctx or flag_context()
    stmt = (select(Exam, func.count(Attempt.id),
                   func.sum(case((flags.any_flag(ctx), 1), else_=0)),
                   func.sum(case((ProctoringResult.status.in_(VERDICT_STATUSES), 1),
                                 else_=0)))
            .outerjoin(Attempt, Attempt.exam_id == Exam.id)
            .outerjoin(ProctoringResult, ProctoringResult.attempt_id == Attempt.id)
            .group_by(Exam.id).order_by(Exam.title))
    return [ExamLine(exam, attempts, int(flagged or 0), int(verdicts or 0))
            for exam, attempts, flagged, verdicts in db.session.execute(stmt)]


@dataclass
class ExamSummary:
    exam: Exam
    attempts: int
    flagged: int
    by_status: list[tuple[str, int]]  # every status, NO_RESULT first, zeros included
    by_state: list[tuple[str, int]]
    scores: list[float]
    mean_averages: dict[str, float]  # metric code -> mean over results reporting it
    results_with_averages: int
    mean_grade: float | None = None
    max_grade: float | None = None
    extra_statuses: list[tuple[str, int]] = field(default_factory=list)


def exam_summary(exam_id: int, ctx: flags.FlagContext | None = None) -> ExamSummary | None:
    """Counts per status and state, the score distribution and mean metric averages."""
    ctx = ctx or flag_context()
    exam = db.session.get(Exam, exam_id)
    if exam is None:
        return None
    in_exam = Attempt.exam_id == exam_id
    status_counts = dict(db.session.execute(
        joined_attempts(select(ProctoringResult.status, func.count(Attempt.id)).select_from(Attempt))
        .where(in_exam).group_by(ProctoringResult.status)).all())
    # An overdue attempt counts as expired (grouped in a subquery: PostgreSQL does not
    # match a CASE with a bound `now` in SELECT to the same one in GROUP BY).
    shown = select(Attempt.shown_state(ctx.now).label("state")).where(in_exam).subquery()
    state_counts = dict(db.session.execute(
        select(shown.c.state, func.count()).group_by(shown.c.state)).all())
    flagged = db.session.scalar(
        joined_attempts(select(func.count(Attempt.id)).select_from(Attempt))
        .where(in_exam, flags.any_flag(ctx)))
    grades = db.session.execute(
        select(func.avg(Attempt.score), func.max(Attempt.max_score))
        .where(in_exam, Attempt.score.is_not(None))).one()
    results = db.session.execute(
        select(ProctoringResult.score, ProctoringResult.averages)
        .join(Attempt, ProctoringResult.attempt_id == Attempt.id).where(in_exam)).all()
    scores = [float(score) for score, _ in results if score is not None]
    totals: dict[str, list[float]] = defaultdict(list)
    with_averages = 0
    for _, averages in results:
        if isinstance(averages, dict) and averages:
            with_averages += 1
            for code, value in averages.items():
                if code in METRIC_NAMES and isinstance(value, (int, float)) \
                        and not isinstance(value, bool):
                    totals[code].append(float(value))
    means = {code: sum(totals[code]) / len(totals[code]) for code in METRIC_NAMES if totals[code]}
    by_status = [(NO_RESULT, status_counts.pop(None, 0))] + [
        (status, status_counts.pop(status, 0)) for status in RESULT_STATUSES]
    return ExamSummary(
        exam=exam, attempts=sum(state_counts.values()), flagged=int(flagged or 0),
        by_status=by_status,
        by_state=[(state, state_counts.get(state, 0)) for state in ATTEMPT_STATES],
        scores=scores, mean_averages=means, results_with_averages=with_averages,
        mean_grade=grades[0], max_grade=grades[1],
        extra_statuses=sorted(status_counts.items()))


# ---- deliveries that match no attempt -------------------------------------------------

@dataclass
class UnmatchedResults:
    results: list[ProctoringResult]
    total: int
    deliveries: dict[str, list[WebhookDelivery]]  # identifier -> its deliveries, in order
    invalid: list[WebhookDelivery]


def unmatched() -> UnmatchedResults:
    """Results whose identifier names no attempt (newest first), with their deliveries,
    and the latest deliveries refused (invalid, or for another vendor's session)."""
    total = db.session.scalar(select(func.count(ProctoringResult.id))
                              .where(ProctoringResult.attempt_id.is_(None)))
    results = list(db.session.scalars(
        select(ProctoringResult).where(ProctoringResult.attempt_id.is_(None))
        .order_by(ProctoringResult.updated_at.desc(), ProctoringResult.id.desc())
        .limit(UNMATCHED_LIMIT)))
    deliveries: dict[str, list[WebhookDelivery]] = defaultdict(list)
    identifiers = [r.identifier for r in results]
    if identifiers:
        for delivery in db.session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.identifier.in_(identifiers))
                .order_by(WebhookDelivery.received_at, WebhookDelivery.id)):
            deliveries[delivery.identifier].append(delivery)
    invalid = list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.outcome.in_(("invalid", "refused")))
        .order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
        .limit(INVALID_LIMIT)))
    return UnmatchedResults(results, int(total or 0), dict(deliveries), invalid)


def unmatched_count() -> int:
    return int(db.session.scalar(select(func.count(ProctoringResult.id))
                                 .where(ProctoringResult.attempt_id.is_(None))) or 0)

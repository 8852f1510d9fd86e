"""The results table and the attempt page: the dashboard's reads.

Every page costs a fixed number of queries whatever its number of rows (the results
table is polled every few seconds): attempts are joined to their user, exam and result
in one statement, with the flag rules as columns, and the per-row extras (metrics
timeline, failed calls) come in one grouped query each for the page.
"""
from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterator, Sequence

from flask import current_app
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from portal.auth.models import User
from portal.db_types import utcnow
from portal.exams import services as exams
from portal.exams.models import Attempt, Exam
from portal.exams.answers import result_rows
from portal.extensions import db
from portal.proctoring.models import MetricSample, ProctoringResult, WebhookDelivery
from portal.proctoring.outbox.models import OutboxJob
from portal.dashboard import flags
from portal.instructor import review_queries as review
from portal.instructor.models import ReviewDecision
from portal.dashboard.charts import TimelinePoint
from portal.dashboard.filters import NO_RESULT, TableFilters

EXPORT_CHUNK = 500  # ids per IN (...) list: well under every database's parameter limit
# The detail page draws at most this many timeline points and lists this many violations,
# so it stays small and fast whatever number of samples was stored.
TIMELINE_POINTS = 300
VIOLATIONS_LISTED = 50


@dataclass
class ResultRow:
    """One attempt as the table shows it."""

    attempt: Attempt
    result: ProctoringResult | None
    threshold: float | None  # flags.effective_threshold()
    flags: list[flags.Flag]
    timeline: flags.TimelineSummary | None
    failed_jobs: list[OutboxJob]
    live_score: float | None = None  # the page's latest metrics score (before a result)
    decision: ReviewDecision | None = None  # staff's, beside the proctor's verdict

    @property
    def needs_review(self) -> bool:
        """Flagged and not decided by staff (a decision counts the flags as reviewed)."""
        return bool(self.flags) and self.decision is None

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    @property
    def below_threshold(self) -> bool | None:
        """True/False when both numbers are known, None otherwise (shown neutral)."""
        score = self.result.score if self.result else None
        if score is None or self.threshold is None:
            return None
        return score < self.threshold


@dataclass
class ResultsPage:
    rows: list[ResultRow]
    total: int
    flagged_total: int
    page: int
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)


def flag_context() -> flags.FlagContext:
    """Now, and the configured grace period for a verdict."""
    return flags.FlagContext(utcnow(), int(current_app.config["VERDICT_GRACE_MINUTES"]))


# ---- the results table ---------------------------------------------------------------

def joined_attempts(stmt: Select) -> Select:
    """Attempts with their user and exam, and their result if any (outer join)."""
    return (stmt.join(Attempt.user).join(Attempt.exam)
            .outerjoin(ProctoringResult, ProctoringResult.attempt_id == Attempt.id))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(stmt: Select, filters: TableFilters, ctx: flags.FlagContext) -> Select:
    if filters.exam:
        stmt = stmt.where(Attempt.exam_id == filters.exam)
    if filters.status == NO_RESULT:
        stmt = stmt.where(ProctoringResult.status.is_(None))
    elif filters.status:
        stmt = stmt.where(ProctoringResult.status == filters.status)
    if filters.state:
        stmt = stmt.where(Attempt.shown_state(ctx.now) == filters.state)
    if filters.flagged:
        stmt = stmt.where(flags.any_flag(ctx))
    if filters.needs_review:
        stmt = stmt.where(flags.any_flag(ctx), review.undecided())
    if filters.q:
        pattern = _like(filters.q)
        stmt = stmt.where(or_(User.display_name.ilike(pattern, escape="\\"),
                              User.username.ilike(pattern, escape="\\"),
                              Attempt.identifier.ilike(pattern, escape="\\")))
    return stmt


def _sort_column(key: str, ctx: flags.FlagContext):
    latest_change = case((ProctoringResult.updated_at > Attempt.updated_at,
                          ProctoringResult.updated_at), else_=Attempt.updated_at)
    return {
        "student": func.lower(User.display_name),
        "exam": func.lower(Exam.title),
        "state": Attempt.shown_state(ctx.now),
        "status": ProctoringResult.status,
        "score": ProctoringResult.score,
        "duration": ProctoringResult.duration,
        # Proctoring's own times when known, else the portal's.
        "started": func.coalesce(ProctoringResult.started_at, Attempt.started_at,
                                 Attempt.created_at),
        "updated": latest_change,
    }[key]


def _latest_sample_score():
    """The score of the page's latest metrics event: what the table shows while a
    session runs and no result has arrived yet."""
    return (select(MetricSample.score)
            .where(MetricSample.attempt_id == Attempt.id, MetricSample.score.is_not(None))
            .order_by(MetricSample.recorded_at.desc(), MetricSample.id.desc())
            .limit(1).correlate(Attempt).scalar_subquery())


def _rows_statement(filters: TableFilters, ctx: flags.FlagContext) -> Select:
    column = _sort_column(filters.sort, ctx)
    ordering = column.asc() if filters.dir == "asc" else column.desc()
    tie_break = Attempt.id.asc() if filters.dir == "asc" else Attempt.id.desc()
    stmt = joined_attempts(select(Attempt, flags.effective_threshold().label("threshold"),
                                  _latest_sample_score().label("live_score"),
                                  *flags.flag_columns(ctx), ReviewDecision))
    stmt = review.with_decision(stmt)
    stmt = stmt.options(contains_eager(Attempt.user), contains_eager(Attempt.exam),
                        contains_eager(Attempt.result))
    # Rows without a value sort last in either direction: "no score yet" is not 0.
    return _where(stmt, filters, ctx).order_by(ordering.nulls_last(), tie_break)


def _timelines(ids: Sequence[int]) -> dict[int, flags.TimelineSummary]:
    """Per attempt: how many metrics samples, how many violated, when first, which peaks."""
    if not ids:
        return {}
    summaries: dict[int, flags.TimelineSummary] = {}
    counts = db.session.execute(
        select(MetricSample.attempt_id, func.count(MetricSample.id),
               func.sum(case((MetricSample.violated.is_(True), 1), else_=0)),
               func.min(case((MetricSample.violated.is_(True), MetricSample.recorded_at))))
        .where(MetricSample.attempt_id.in_(ids)).group_by(MetricSample.attempt_id))
    for attempt_id, samples, violated, first in counts:
        summaries[attempt_id] = flags.TimelineSummary(int(samples), int(violated or 0), first)
    peaks = db.session.execute(
        select(MetricSample.attempt_id, MetricSample.peak, func.count(MetricSample.id))
        .where(MetricSample.attempt_id.in_(ids), MetricSample.violated.is_(True),
               MetricSample.peak.is_not(None))
        .group_by(MetricSample.attempt_id, MetricSample.peak))
    for attempt_id, peak, count in peaks:
        summaries[attempt_id].peaks[peak] = int(count)
    return summaries


def _failed_jobs(ids: Sequence[int]) -> dict[int, list[OutboxJob]]:
    if not ids:
        return {}
    jobs: dict[int, list[OutboxJob]] = defaultdict(list)
    for job in db.session.scalars(select(OutboxJob).where(
            OutboxJob.attempt_id.in_(ids), OutboxJob.state == "failed")
            .order_by(OutboxJob.updated_at.desc(), OutboxJob.id.desc())):
        jobs[job.attempt_id].append(job)
    return jobs


def _build_rows(raw_rows, ctx: flags.FlagContext) -> list[ResultRow]:
    raw_rows = list(raw_rows)
    ids = [raw.Attempt.id for raw in raw_rows]
    timelines, failed = _timelines(ids), _failed_jobs(ids)
    rows = []
    for raw in raw_rows:
        attempt = exams.shown(raw.Attempt, ctx.now)  # an overdue one as expired, unwritten
        facts = flags.FlagFacts(attempt, attempt.result, raw.threshold,
                                timelines.get(attempt.id), failed.get(attempt.id, []))
        rows.append(ResultRow(attempt, attempt.result, raw.threshold,
                              flags.describe(flags.raised(raw._mapping), facts, ctx),
                              facts.timeline, facts.failed_jobs, raw.live_score,
                              raw.ReviewDecision))
    return rows


def results_page(filters: TableFilters, ctx: flags.FlagContext | None = None) -> ResultsPage:
    """One page of the filtered, sorted table; a page past the end shows the last one."""
    ctx = ctx or flag_context()
    counted = _where(joined_attempts(select(
        func.count(Attempt.id), func.sum(case((flags.any_flag(ctx), 1), else_=0)))
        .select_from(Attempt)), filters, ctx)
    total, flagged_total = db.session.execute(counted).one()
    pages = max(1, math.ceil(total / filters.per_page))
    page = min(filters.page, pages)
    stmt = _rows_statement(filters, ctx).limit(filters.per_page).offset(
        (page - 1) * filters.per_page)
    rows = _build_rows(db.session.execute(stmt).unique(), ctx)
    return ResultsPage(rows, total, int(flagged_total or 0), page, pages, filters.per_page)


def table_stamp(filters: TableFilters, ctx: flags.FlagContext | None = None) -> str:
    """A short digest that changes whenever the results table for `filters` may show
    something else; equal digests mean an unchanged table, so the poll answers 204
    without running the table's queries or rendering it.

    One statement of index lookups, whatever the number of rows: the attempts' and
    results' highest id and latest `updated_at` (an insert or any change of either row
    sets it), the latest metrics sample (the live score), the failed outbox jobs' count
    and latest change, the exams (count, highest id), and the current minute of
    `ctx.now` (the flags' ages and grace period are counted in minutes; a deletion,
    which no stamp column records, shows within that minute too). The filters are part
    of it, so another view of the table never shares a digest."""
    ctx = ctx or flag_context()
    failed = OutboxJob.state == "failed"
    parts = db.session.execute(select(
        select(func.max(Attempt.id)).scalar_subquery(),
        select(func.max(Attempt.updated_at)).scalar_subquery(),
        select(func.max(ProctoringResult.id)).scalar_subquery(),
        select(func.max(ProctoringResult.updated_at)).scalar_subquery(),
        select(func.max(MetricSample.id)).scalar_subquery(),
        select(func.count(OutboxJob.id)).where(failed).scalar_subquery(),
        select(func.max(OutboxJob.updated_at)).where(failed).scalar_subquery(),
        select(func.count(Exam.id)).scalar_subquery(),
        select(func.max(Exam.id)).scalar_subquery(),
        select(func.max(ReviewDecision.decided_at)).scalar_subquery(),
        # Attempts overdue now (shown expired before the sweep writes): the digest
        # changes the moment one becomes overdue, not at the next minute.
        select(func.count(Attempt.id)).where(Attempt.overdue(ctx.now))
        .scalar_subquery())).one()
    text = repr((sorted(filters.to_args().items()), tuple(parts),
                 ctx.now.replace(second=0, microsecond=0).isoformat()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def results_for_export(filters: TableFilters,
                       ctx: flags.FlagContext | None = None) -> Iterator[ResultRow]:
    """Every filtered row (no pagination), in table order, built chunk by chunk."""
    ctx = ctx or flag_context()
    raw_rows = list(db.session.execute(_rows_statement(filters, ctx)).unique())
    for start in range(0, len(raw_rows), EXPORT_CHUNK):
        yield from _build_rows(raw_rows[start:start + EXPORT_CHUNK], ctx)


def exam_choices() -> list[tuple[int, str]]:
    return list(db.session.execute(select(Exam.id, Exam.title).order_by(Exam.title)))


# ---- one attempt ---------------------------------------------------------------------

@dataclass
class AttemptDetail:
    row: ResultRow
    answers: list[dict]
    deliveries: list[WebhookDelivery]
    timeline: list  # MetricSamples, or TimelinePoints when there were many (downsampled)
    violations: list[MetricSample]  # the first VIOLATIONS_LISTED violated samples
    jobs: list[OutboxJob]

    @property
    def attempt(self) -> Attempt:
        return self.row.attempt

    @property
    def summary(self) -> flags.TimelineSummary:
        return self.row.timeline or flags.TimelineSummary()


def timeline_points(attempt_id: int, total: int,
                    limit: int = TIMELINE_POINTS) -> list[MetricSample] | list[TimelinePoint]:
    """The attempt's metrics samples in time order, or, when there are more than `limit`,
    at most `limit` points each summing up consecutive samples (grouped in the database:
    the rows never come to Python one by one)."""
    in_attempt = MetricSample.attempt_id == attempt_id
    if total <= limit:
        return list(db.session.scalars(select(MetricSample).where(in_attempt)
                                       .order_by(MetricSample.recorded_at, MetricSample.id)))
    step = math.ceil(total / limit)
    numbered = select(
        MetricSample.recorded_at, MetricSample.score,
        case((MetricSample.violated.is_(True), 1), else_=0).label("violated"),
        func.row_number().over(order_by=(MetricSample.recorded_at, MetricSample.id))
        .label("n")).where(in_attempt).subquery()
    bucket = ((numbered.c.n - 1) // step).label("bucket")
    rows = db.session.execute(
        select(func.min(numbered.c.recorded_at), func.min(numbered.c.score),
               func.max(numbered.c.score), func.count(), func.sum(numbered.c.violated))
        .group_by(bucket).order_by(bucket))
    return [TimelinePoint(at, low, high, int(count), int(violated or 0))
            for at, low, high, count, violated in rows]


def attempt_detail(attempt_id: int, ctx: flags.FlagContext | None = None) -> AttemptDetail | None:
    """Everything the detail page shows, or None for an unknown attempt."""
    ctx = ctx or flag_context()
    stmt = (_rows_statement(TableFilters(), ctx).where(Attempt.id == attempt_id)
            .options(selectinload(Attempt.answers),
                     contains_eager(Attempt.exam).selectinload(Exam.questions)))
    rows = _build_rows(db.session.execute(stmt).unique(), ctx)
    if not rows:
        return None
    row = rows[0]
    attempt = row.attempt
    deliveries = list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.identifier == attempt.identifier)
        .order_by(WebhookDelivery.received_at, WebhookDelivery.id)))
    total = row.timeline.samples if row.timeline else 0
    violations = list(db.session.scalars(
        select(MetricSample).where(MetricSample.attempt_id == attempt.id,
                                   MetricSample.violated.is_(True))
        .order_by(MetricSample.recorded_at, MetricSample.id).limit(VIOLATIONS_LISTED)))
    jobs = list(db.session.scalars(
        select(OutboxJob).where(OutboxJob.attempt_id == attempt.id).order_by(OutboxJob.id)))
    return AttemptDetail(row, result_rows(attempt), deliveries,
                         timeline_points(attempt.id, total), violations, jobs)

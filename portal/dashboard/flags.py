"""Why an attempt needs a second look: the flag rules, each with its reason in words.

Each rule is written once, as a SQL condition on the results query (attempts outer-joined
to their proctoring result), so "flagged only" filters and paginates in the database
and the table, the CSV and the detail page can never disagree. The Python side only
turns a raised flag into a sentence. docs/dashboard.md lists the rules for people.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import Boolean, and_, case, exists, func, or_, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from portal.exams.models import CLOSED_STATES, TERMINATED, Attempt
from portal.proctoring.metrics import metric_name
from portal.proctoring.models import VERDICT_STATUSES, MetricSample, ProctoringResult
from portal.proctoring.outbox.models import OutboxJob


@dataclass(frozen=True)
class Flag:
    code: str
    label: str  # a short badge text
    reason: str  # the full sentence


@dataclass(frozen=True)
class FlagContext:
    """What time-based rules compare against; one per request, so every row agrees."""

    now: datetime
    grace_minutes: int

    @property
    def cutoff(self) -> datetime:
        return self.now - timedelta(minutes=self.grace_minutes)


@dataclass
class TimelineSummary:
    """The page's metrics events of one attempt, reduced to what a reason needs."""

    samples: int = 0
    violated: int = 0
    first_violation_at: datetime | None = None
    peaks: dict[str, int] = field(default_factory=dict)  # peak code -> violating samples

    @property
    def top_peak(self) -> str | None:
        return max(self.peaks, key=lambda code: (self.peaks[code], code)) if self.peaks else None


@dataclass
class FlagFacts:
    """One row's data the reasons are written from (all loaded by the page's queries)."""

    attempt: Attempt
    result: ProctoringResult | None
    threshold: float | None
    timeline: TimelineSummary | None
    failed_jobs: list[OutboxJob]


# ---- the rules as SQL ------------------------------------------------------------------

def latest_sample_threshold() -> ColumnElement:
    """The threshold the SDK reported last in the page's metrics events (a correlated
    subquery on the attempt; the Supervisor webhook itself carries no threshold)."""
    return (select(MetricSample.threshold)
            .where(MetricSample.attempt_id == Attempt.id, MetricSample.threshold.is_not(None))
            .order_by(MetricSample.recorded_at.desc(), MetricSample.id.desc())
            .limit(1).correlate(Attempt).scalar_subquery())


def effective_threshold() -> ColumnElement:
    """The result's own threshold (Constructor sends one), else the page's last one."""
    return func.coalesce(ProctoringResult.threshold, latest_sample_threshold())


def _conditions(ctx: FlagContext) -> dict[str, ColumnElement[bool]]:
    """code -> condition; the order is the order flags are shown in (most serious first)."""
    return {
        "rejected": ProctoringResult.status == "rejected",
        "terminated": Attempt.state == TERMINATED,
        "skipped": ProctoringResult.status == "skipped",
        "below_threshold": and_(ProctoringResult.score.is_not(None),
                                ProctoringResult.score < effective_threshold()),
        "violations": exists().where(MetricSample.attempt_id == Attempt.id,
                                     MetricSample.violated.is_(True)),
        "no_verdict": and_(Attempt.state.in_(CLOSED_STATES), Attempt.closed_at <= ctx.cutoff,
                           or_(ProctoringResult.status.is_(None),
                               ProctoringResult.status.not_in(VERDICT_STATUSES))),
        "finish_failed": exists().where(OutboxJob.attempt_id == Attempt.id,
                                        OutboxJob.state == "failed"),
    }


FLAG_CODES = ("rejected", "terminated", "skipped", "below_threshold", "violations",
              "no_verdict", "finish_failed")

LABELS = {
    "rejected": "Rejected",
    "terminated": "Terminated",
    "skipped": "Skipped",
    "below_threshold": "Under threshold",
    "violations": "Violations",
    "no_verdict": "No verdict",
    "finish_failed": "Finish call failed",
}


def flag_columns(ctx: FlagContext) -> list[ColumnElement[bool]]:
    """One boolean column per rule, labelled `flag_<code>` (never NULL: NULL is False)."""
    return [type_coerce(case((condition, True), else_=False), Boolean).label(f"flag_{code}")
            for code, condition in _conditions(ctx).items()]


def any_flag(ctx: FlagContext) -> ColumnElement[bool]:
    """The "flagged only" filter: any rule holds."""
    return or_(*_conditions(ctx).values())


def raised(row_mapping) -> list[str]:
    """The codes whose `flag_<code>` column is true in a result row."""
    return [code for code in FLAG_CODES if row_mapping[f"flag_{code}"]]


# ---- the reasons in words --------------------------------------------------------------

def _number(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def _rejected(facts: FlagFacts, ctx: FlagContext) -> str:
    result = facts.result
    who = f" ({result.proctor})" if result and result.proctor else ""
    comment = f": “{result.comment}”" if result and result.comment else "."
    return f"The proctor{who} rejected the session{comment}"


def _terminated(facts: FlagFacts, ctx: FlagContext) -> str:
    reason = facts.attempt.close_reason or "the proctoring session ended before submission."
    return f"Terminated before submission: {reason}"


def _skipped(facts: FlagFacts, ctx: FlagContext) -> str:
    return "Proctoring skipped: the session was not started before its deadline."


def _below_threshold(facts: FlagFacts, ctx: FlagContext) -> str:
    score = facts.result.score if facts.result else None
    return (f"Proctoring score {_number(score)} is under the threshold "
            f"{_number(facts.threshold)}.")


def _violations(facts: FlagFacts, ctx: FlagContext) -> str:
    timeline = facts.timeline or TimelineSummary()
    text = (f"The metrics timeline shows violations: {timeline.violated} of "
            f"{timeline.samples} samples")
    if timeline.first_violation_at:
        text += f", the first at {timeline.first_violation_at:%H:%M:%S} UTC"
    if timeline.top_peak:
        text += f"; most often {metric_name(timeline.top_peak)}"
    return text + "."


def _no_verdict(facts: FlagFacts, ctx: FlagContext) -> str:
    closed_at = facts.attempt.closed_at
    age = _age(ctx.now - closed_at) if closed_at else "a while"
    if facts.result is None:
        what = "no proctoring result has arrived"
    elif facts.result.status:
        what = f"the proctoring status is still “{facts.result.status}”"
    else:
        what = "the proctoring result has no status"
    return (f"No proctoring verdict: {what} {age} after the attempt closed "
            f"(grace period {ctx.grace_minutes} min).")


def _finish_failed(facts: FlagFacts, ctx: FlagContext) -> str:
    job = facts.failed_jobs[0] if facts.failed_jobs else None
    if job is None:
        return "The finish call to the proctoring server failed."
    error = f": {job.last_error}" if job.last_error else "."
    return f"The finish call to the proctoring server failed after {job.tries} tries{error}"


REASONS: dict[str, Callable[[FlagFacts, FlagContext], str]] = {
    "rejected": _rejected,
    "terminated": _terminated,
    "skipped": _skipped,
    "below_threshold": _below_threshold,
    "violations": _violations,
    "no_verdict": _no_verdict,
    "finish_failed": _finish_failed,
}


def describe(codes: Iterable[str], facts: FlagFacts, ctx: FlagContext) -> list[Flag]:
    """The raised flags of one row, in display order, each with its sentence."""
    wanted = set(codes)
    return [Flag(code, LABELS[code], REASONS[code](facts, ctx))
            for code in FLAG_CODES if code in wanted]

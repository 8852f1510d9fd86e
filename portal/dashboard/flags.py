"""Why an attempt needs a second look: the flag rules, each with its reason in words.

The rules are one table, RULES: each flag's code, badge, SQL condition on the results
query (attempts joined to their exam and outer-joined to their proctoring result) and
sentence. So "flagged only" filters and paginates in the database, and the table, the
CSV and the detail page can never disagree. The Python side only turns a raised flag
into a sentence. docs/dashboard.md lists the rules for people.

Evidence: a rule decides on what the proctoring server said (its result, or the
`vendor_*` columns of the attempt) and on the exam; the page's word only adds flags
(its violated samples), never clears one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import Boolean, and_, case, exists, func, not_, or_, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from portal.exams.models import CLOSED_STATES, TERMINATED, Attempt, Exam
from portal.proctoring.metrics import metric_name
from portal.proctoring.models import MetricSample, ProctoringResult
from portal.proctoring.vocabulary import VERDICT_STATUSES
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

def effective_threshold() -> ColumnElement:
    """The vendor's own threshold when its result has one (Constructor sends one), else
    the exam's (`threshold` in the exam file). Never the page's: a metrics sample is the
    page's word, and a forged `threshold: 0` would clear the flag."""
    return func.coalesce(ProctoringResult.threshold, Exam.threshold)


def _heard_from_vendor() -> ColumnElement[bool]:
    """The proctoring server said something about this session (Attempt.vendor_heard_from)."""
    return or_(Attempt.vendor_first_delivery_at.is_not(None),
               Attempt.vendor_started_at.is_not(None))


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


def _unconfirmed(facts: FlagFacts, ctx: FlagContext) -> str:
    attempt = facts.attempt
    page = (" The page reported the proctoring start, but that is the page's word only."
            if attempt.page_started_at else "")
    return ("Not confirmed by the proctoring server: the attempt closed and nothing has "
            "arrived from the proctoring server about its session (no result, no "
            f"confirmed start), so proctoring may never have run.{page}")


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


# ---- the table of rules ------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """One flag: its code, badge, SQL condition (given the context) and sentence."""

    code: str
    label: str
    condition: Callable[[FlagContext], ColumnElement[bool]]
    reason: Callable[[FlagFacts, FlagContext], str]


def _closed(ctx: FlagContext) -> ColumnElement[bool]:
    """Closed as shown now: an overdue attempt counts as expired before the sweep."""
    return Attempt.shown_state(ctx.now).in_(CLOSED_STATES)


# In display order (most serious first).
RULES: tuple[Rule, ...] = (
    Rule("rejected", "Rejected", lambda ctx: ProctoringResult.status == "rejected", _rejected),
    Rule("unconfirmed", "Not confirmed by the proctoring server",
         lambda ctx: and_(_closed(ctx), not_(_heard_from_vendor())), _unconfirmed),
    Rule("terminated", "Terminated", lambda ctx: Attempt.state == TERMINATED, _terminated),
    Rule("skipped", "Skipped", lambda ctx: ProctoringResult.status == "skipped", _skipped),
    Rule("below_threshold", "Under threshold",
         lambda ctx: and_(ProctoringResult.score.is_not(None),
                          ProctoringResult.score < effective_threshold()), _below_threshold),
    Rule("violations", "Violations",
         lambda ctx: exists().where(MetricSample.attempt_id == Attempt.id,
                                    MetricSample.violated.is_(True)), _violations),
    # Only once the server said something: an attempt it never heard of is "unconfirmed"
    # at once, not "awaiting the verdict" after the grace period.
    Rule("no_verdict", "No verdict",
         lambda ctx: and_(_closed(ctx), _heard_from_vendor(),
                          Attempt.shown_closed_at(ctx.now) <= ctx.cutoff,
                          or_(ProctoringResult.status.is_(None),
                              ProctoringResult.status.not_in(VERDICT_STATUSES))), _no_verdict),
    Rule("finish_failed", "Finish call failed",
         lambda ctx: exists().where(OutboxJob.attempt_id == Attempt.id,
                                    OutboxJob.state == "failed"), _finish_failed),
)
FLAG_CODES = tuple(rule.code for rule in RULES)
LABELS = {rule.code: rule.label for rule in RULES}


def flag_columns(ctx: FlagContext) -> list[ColumnElement[bool]]:
    """One boolean column per rule, labelled `flag_<code>` (never NULL: NULL is False)."""
    return [type_coerce(case((rule.condition(ctx), True), else_=False), Boolean)
            .label(f"flag_{rule.code}") for rule in RULES]


def any_flag(ctx: FlagContext) -> ColumnElement[bool]:
    """The "flagged only" filter: any rule holds."""
    return or_(*(rule.condition(ctx) for rule in RULES))


def raised(row_mapping) -> list[str]:
    """The codes whose `flag_<code>` column is true in a result row."""
    return [code for code in FLAG_CODES if row_mapping[f"flag_{code}"]]


def describe(codes: Iterable[str], facts: FlagFacts, ctx: FlagContext) -> list[Flag]:
    """The raised flags of one row, in display order, each with its sentence."""
    wanted = set(codes)
    return [Flag(rule.code, rule.label, rule.reason(facts, ctx))
            for rule in RULES if rule.code in wanted]

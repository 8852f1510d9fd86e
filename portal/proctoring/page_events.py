"""What the student's page reports about its proctoring session: stop and metrics.

All of it is the page's word, which an examinee can forge: it is stored as such and
never decides a fact the vendor must state (a proctor's name, a threshold, whether
proctoring ran). Metrics are bounded so a page cannot flood the instructor's timeline:
accepted only while the attempt is in progress, at most METRICS_PER_MINUTE samples a
minute and METRICS_PER_ATTEMPT in all (settings, portal/config.py). See docs/security.md.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, insert, select

from portal import durability
from portal.db_types import UTCDateTime, utcnow
from portal.exams import services as exams
from portal.exams.models import Attempt
from portal.exams.reads import AttemptRow
from portal.extensions import db
from portal.proctoring.metrics import METRIC_NAMES
from portal.proctoring.models import MetricSample

METRIC_CODES = tuple(METRIC_NAMES)
# The page sends what it queued: a batch holds at most a minute's worth at the default pace.
MAX_SAMPLES_PER_BATCH = 12
# Statements built once: a metrics post is most of the exam-day traffic.
_INSERT_SAMPLES = insert(MetricSample.__table__)
_samples = MetricSample.__table__
_COUNT_SAMPLES = (select(func.count(_samples.c.id).filter(
                             _samples.c.recorded_at > bindparam("since", type_=UTCDateTime())),
                         func.count(_samples.c.id))
                  .where(_samples.c.attempt_id == bindparam("attempt_id")))


class InvalidSamples(ValueError):
    """A metrics batch that does not have the documented shape (HTTP 400)."""


class TooManySamples(Exception):
    """More samples than the limits allow (HTTP 429); the message says which limit."""


def limit(name: str) -> int:
    """A metrics limit: the setting `name` (METRICS_PER_MINUTE or METRICS_PER_ATTEMPT)."""
    return current_app.config[name]


def proctoring_stopped(attempt: Attempt) -> bool:
    """The page reports the SDK's `stop` event: recorded as reported by the page, and
    the attempt closes (terminated, saved answers kept). False if already closed."""
    return exams.page_reported_stop(attempt)


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidSamples(f"{name} must be a number")
    return float(value)


def record_metrics(attempt: Attempt | AttemptRow, samples: Any) -> int:
    """Store a batch of `metrics` events as received (score, threshold, violated, peak
    are the SDK's, not recomputed). Returns how many were stored.

    Raises InvalidSamples (shape), exams.AttemptConflict (the attempt is not in
    progress), TooManySamples (over the per-minute or per-attempt limit)."""
    per_batch = min(MAX_SAMPLES_PER_BATCH, limit("METRICS_PER_MINUTE"))
    if not isinstance(samples, list) or not 0 < len(samples) <= per_batch:
        raise InvalidSamples(f"send 'samples': a list of 1-{per_batch} metrics events")
    rows = []
    for i, sample in enumerate(samples):
        if not isinstance(sample, dict):
            raise InvalidSamples(f"samples[{i}] must be an object")
        metrics = sample.get("metrics") or {}
        if not isinstance(metrics, dict) or any(k not in METRIC_CODES for k in metrics):
            raise InvalidSamples(f"samples[{i}].metrics: keys must be metric codes "
                                 f"({', '.join(METRIC_CODES)})")
        peak = sample.get("peak")
        if peak is not None and peak not in METRIC_CODES:
            raise InvalidSamples(f"samples[{i}].peak must be a metric code")
        rows.append({
            "attempt_id": attempt.id, "score": _number(sample.get("score"), f"samples[{i}].score"),
            "threshold": _number(sample.get("threshold"), f"samples[{i}].threshold"),
            "violated": bool(sample.get("violated")), "peak": peak,
            "metrics": {k: _number(v, f"samples[{i}].metrics.{k}") for k, v in metrics.items()}})
    _check_limits(attempt, len(rows))
    now = utcnow()
    for row in rows:
        row["recorded_at"] = now
    # One executemany of a statement built once: no ORM objects to flush for a batch.
    db.session.connection().execute(_INSERT_SAMPLES, rows)
    return len(rows)


def _check_limits(attempt: Attempt | AttemptRow, adding: int) -> None:
    """Refuse the batch unless the attempt runs and stays within both limits. The
    attempt is locked first, so two concurrent batches are counted one after the other.

    The transaction is telemetry only once the attempt is known to run (closing an
    overdue attempt is not): its commit does not wait for the disk (durability.py)."""
    exams.require_running(attempt)
    durability.telemetry_commit()
    exams.lock_running(attempt)
    now = utcnow()
    per_minute, per_attempt = limit("METRICS_PER_MINUTE"), limit("METRICS_PER_ATTEMPT")
    recent, total = db.session.connection().execute(_COUNT_SAMPLES, {
        "attempt_id": attempt.id, "since": now - timedelta(minutes=1)}).one()
    if total + adding > per_attempt:
        raise TooManySamples(f"This attempt already has {total} metrics samples, the most "
                             f"accepted is {per_attempt}: further samples are not stored.")
    if recent + adding > per_minute:
        raise TooManySamples(f"At most {per_minute} metrics samples a minute are accepted "
                             f"({recent} in the last minute): send fewer, less often.")

"""What the student's page reports about its proctoring session: stop and metrics."""
from __future__ import annotations

from typing import Any

from portal.exams import services as exams
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.models import MetricSample

METRIC_CODES = ("b1", "b2", "b3", "c1", "c2", "c3", "c4", "c5", "k1", "m1", "m2", "n1",
                "n2", "s1", "s2")
MAX_SAMPLES_PER_BATCH = 100


class InvalidSamples(ValueError):
    """A metrics batch that does not have the documented shape."""


def proctoring_stopped(attempt: Attempt, proctor: str | None) -> bool:
    """The SDK's `stop` event arrived before submission: close the attempt (terminated),
    keeping what was saved. False if it was already closed (e.g. submitted)."""
    who = f"a proctor ({proctor})" if proctor else "the proctoring system"
    return exams.terminate(attempt, f"Proctoring session ended by {who}.")


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidSamples(f"{name} must be a number")
    return float(value)


def record_metrics(attempt: Attempt, samples: Any) -> int:
    """Store a batch of `metrics` events as received (score, threshold, violated, peak
    are the server's, not recomputed). Returns how many were stored."""
    if not isinstance(samples, list) or not 0 < len(samples) <= MAX_SAMPLES_PER_BATCH:
        raise InvalidSamples(f"send 'samples': a list of 1-{MAX_SAMPLES_PER_BATCH} metrics events")
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
        rows.append(MetricSample(
            attempt_id=attempt.id, score=_number(sample.get("score"), f"samples[{i}].score"),
            threshold=_number(sample.get("threshold"), f"samples[{i}].threshold"),
            violated=bool(sample.get("violated")), peak=peak,
            metrics={k: _number(v, f"samples[{i}].metrics.{k}") for k, v in metrics.items()}))
    db.session.add_all(rows)
    return len(rows)

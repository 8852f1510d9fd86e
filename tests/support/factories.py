"""Factories for the dashboard tests: attempts, proctoring results, metrics samples,
deliveries and outbox jobs, written straight through the models so each test sets up
exactly the state it shows (the webhook and outbox tests cover the code that writes them)."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any, Iterable

from portal.db_types import utcnow
from portal.exams import services
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.models import MetricSample, ProctoringResult, WebhookDelivery
from portal.proctoring.outbox.models import OutboxJob
from portal.proctoring.vocabulary import METRIC_CODES
from tests.support.app import add_user

ZERO_AVERAGES = {code: 0 for code in METRIC_CODES}


def seed_attempt(exam, user, *, state: str = "submitted", started: datetime | None = None,
                 closed: datetime | None = None, minutes_ago: float = 60,
                 close_reason: str | None = None, score: float | None = None,
                 max_score: float | None = None, vendor: str = "supervisor",
                 identifier: str | None = None) -> Attempt:
    """An attempt in `state`, started `minutes_ago` and (if closed) closed 10 min later."""
    started = started or utcnow() - timedelta(minutes=minutes_ago)
    if closed is None and state in ("submitted", "terminated", "expired"):
        closed = started + timedelta(minutes=10)
    attempt = Attempt(exam_id=exam.id, user_id=user.id, state=state, vendor=vendor,
                      started_at=started if state != "created" else None,
                      deadline_at=started + timedelta(minutes=exam.time_limit_minutes),
                      closed_at=closed, close_reason=close_reason, score=score,
                      max_score=max_score)
    if identifier:
        attempt.identifier = identifier
    db.session.add(attempt)
    db.session.commit()
    return attempt


def seed_result(attempt: Attempt | None, *, identifier: str | None = None,
                status: str | None = "stopped", score: float | None = None,
                threshold: float | None = None, averages: dict | None = None,
                vendor: str = "supervisor", **fields: Any) -> ProctoringResult:
    """The attempt's proctoring result (or an unmatched one when `attempt` is None)."""
    result = ProctoringResult(
        identifier=identifier or attempt.identifier, attempt_id=attempt.id if attempt else None,
        vendor=vendor, status=status, score=score, threshold=threshold,
        averages=averages if averages is not None else {}, details=fields.pop("details", {}),
        **fields)
    db.session.add(result)
    db.session.flush()
    if attempt is not None and vendor == attempt.vendor:
        # What a delivery leaves on its attempt (results.record_and_apply does the same).
        services.record_vendor_news(attempt, status, attempt.closed_at or attempt.started_at)
    db.session.commit()
    return result


def seed_samples(attempt: Attempt, samples: Iterable[tuple], start: datetime | None = None,
                 step_seconds: int = 10) -> list[MetricSample]:
    """Metrics events from (score, threshold, violated, peak) tuples, `step_seconds` apart."""
    start = start or (attempt.started_at or utcnow())
    rows = []
    for i, (score, threshold, violated, peak) in enumerate(samples):
        rows.append(MetricSample(attempt_id=attempt.id, score=score, threshold=threshold,
                                 violated=violated, peak=peak,
                                 recorded_at=start + timedelta(seconds=i * step_seconds),
                                 metrics={peak: 100 - score} if peak else {}))
    db.session.add_all(rows)
    db.session.commit()
    return rows


def seed_delivery(identifier: str, body: dict | str, *, outcome: str = "applied",
                  status: str | None = None, received_at: datetime | None = None,
                  vendor: str = "supervisor", detail: str | None = None) -> WebhookDelivery:
    raw = body if isinstance(body, str) else json.dumps(body)
    delivery = WebhookDelivery(identifier=identifier, body=raw, outcome=outcome,
                               status=status, vendor=vendor, detail=detail,
                               received_at=received_at or utcnow(),
                               content_type="application/json",
                               headers={"User-Agent": "axios/1.1.3"})
    db.session.add(delivery)
    db.session.commit()
    return delivery


def seed_job(attempt: Attempt, *, state: str = "failed", tries: int = 8,
             last_error: str | None = "HTTP 503 from the proctoring server",
             kind: str = "constructor_finish") -> OutboxJob:
    job = OutboxJob(kind=kind, attempt_id=attempt.id, state=state, tries=tries,
                    last_error=last_error, payload={})
    db.session.add(job)
    db.session.commit()
    return job


def students(n: int, prefix: str = "s") -> list:
    """`n` students named Student 01.. (usernames s01..)."""
    return [add_user(f"{prefix}{i:02d}", display_name=f"Student {i:02d}") for i in range(1, n + 1)]


def login_instructor(client, auth, instructor) -> None:
    response = auth.login(instructor.username)
    assert response.status_code == 302, "instructor login failed"


def same_minute_ahead(seconds: float = 5.0) -> None:
    """Wait for the next minute when fewer than `seconds` are left in this one. The
    dashboard's poll digest holds the current minute (the flags' ages count in minutes),
    so a page and its poll on two sides of a minute differ by design: a test of "204
    while nothing changed" must run within one minute."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.05)


def instructor_pages(client, auth, instructor):
    """Log the instructor in; returns get(url) -> the page's HTML, asserting a 200."""
    login_instructor(client, auth, instructor)

    def get(url: str) -> str:
        response = client.get(url)
        assert response.status_code == 200, url
        return response.get_data(as_text=True)
    return get

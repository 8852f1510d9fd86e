"""Outbox job state changes: enqueue, claim (with a lease), and record a try's outcome.

pending --(claim: claimed_by + lease_until, tries + 1)--> being sent
        --done--> done | --retry--> pending (next_try_at later) | --fail--> failed
failed --requeue (an instructor)--> pending

Every change is one conditional UPDATE. A claim counts as a try, so a job that kills
its worker still runs out of tries. Outcomes are written only while the writer still
holds the claim (`claimed_by` = its claim token): a worker that lost its lease cannot
overwrite the newer holder's result. Functions here flush; the caller commits, except
`claim_next`, which commits the claim before the slow network call.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from portal.db_types import utcnow
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.outbox.models import OutboxJob

MAX_BACKOFF_SECONDS = 15 * 60
ERROR_LIMIT = 2000  # characters of last_error kept


class JobConflict(Exception):
    """The job's state does not allow this (e.g. re-queueing a job that is not failed)."""


def enqueue(kind: str, attempt: Attempt, payload: dict[str, Any],
            now: datetime | None = None) -> OutboxJob:
    """Add a pending job for this attempt in the caller's transaction (flushed, not
    committed). One job per (kind, attempt): an existing one is returned unchanged."""
    existing = find(kind, attempt.id)
    if existing is not None:
        return existing
    job = OutboxJob(kind=kind, attempt_id=attempt.id, payload=payload, state="pending",
                    tries=0, next_try_at=now or utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(job)
    except IntegrityError:  # a concurrent close enqueued it first
        return find(kind, attempt.id)
    return job


def find(kind: str, attempt_id: int) -> OutboxJob | None:
    return db.session.scalar(select(OutboxJob).where(
        OutboxJob.kind == kind, OutboxJob.attempt_id == attempt_id))


def requeue(job: OutboxJob, now: datetime | None = None) -> OutboxJob:
    """failed -> pending with a fresh try budget, due at once. The last error is kept
    until the next try replaces it. Raises JobConflict unless the job is failed."""
    now = now or utcnow()
    result = db.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == job.id, OutboxJob.state == "failed")
        .values(state="pending", tries=0, next_try_at=now, claimed_by=None,
                lease_until=None, completed_at=None, updated_at=now)
        .execution_options(synchronize_session=False))
    db.session.refresh(job)
    if result.rowcount != 1:
        raise JobConflict(f"The job is {job.state}, not failed; nothing to re-queue.")
    return job


def _claimable(now: datetime, jobs: Any = OutboxJob):
    return and_(jobs.state == "pending", jobs.next_try_at <= now,
                or_(jobs.claimed_by.is_(None), jobs.lease_until < now))


def claim_next(claim_token: str, lease_seconds: float, max_tries: int,
               now: datetime | None = None) -> OutboxJob | None:
    """Claim the most overdue job for `lease_seconds` and COMMIT the claim; None if no
    job is due. Safe with any number of workers on any number of hosts:

    one statement, `UPDATE ... WHERE id = (SELECT ... LIMIT 1) AND <claimable>
    RETURNING id`. PostgreSQL: the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so
    concurrent workers pass over each other's rows instead of waiting. SQLite: the
    statement runs under the database's single write lock, and the repeated
    condition `(claimed_by IS NULL OR lease_until < now)` makes the claim conditional.
    """
    now = now or utcnow()
    fail_orphans(max_tries, now)
    inner = aliased(OutboxJob)  # not correlated with the UPDATE's own table
    candidate = (select(inner.id).where(_claimable(now, inner), inner.tries < max_tries)
                 .order_by(inner.next_try_at, inner.id).limit(1))
    if db.engine.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    job_id = db.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == candidate.scalar_subquery(), _claimable(now))
        .values(claimed_by=claim_token, lease_until=now + timedelta(seconds=lease_seconds),
                tries=OutboxJob.tries + 1, updated_at=now)
        .returning(OutboxJob.id)
        .execution_options(synchronize_session=False)).scalar()
    db.session.commit()
    if job_id is None:
        return None
    job = db.session.get(OutboxJob, job_id)
    db.session.refresh(job)
    return job


def fail_orphans(max_tries: int, now: datetime) -> int:
    """A job whose last allowed try was claimed by a worker that died (lease expired)
    can never be claimed again: mark it failed so the dashboard shows it."""
    result = db.session.execute(
        update(OutboxJob)
        .where(_claimable(now), OutboxJob.tries >= max_tries, OutboxJob.claimed_by.is_not(None))
        .values(state="failed", claimed_by=None, lease_until=None, updated_at=now,
                last_error="The worker sending the last try stopped before it finished "
                           "(lease expired).")
        .execution_options(synchronize_session=False))
    return result.rowcount


def _finish_claim(job: OutboxJob, claim_token: str, now: datetime, **values: Any) -> bool:
    result = db.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == job.id, OutboxJob.claimed_by == claim_token,
               OutboxJob.state == "pending")
        .values(claimed_by=None, lease_until=None, updated_at=now, **values)
        .execution_options(synchronize_session=False))
    db.session.refresh(job)
    return result.rowcount == 1


def mark_done(job: OutboxJob, claim_token: str, message: str, now: datetime | None = None) -> bool:
    """The vendor confirmed the call. False if this worker no longer held the claim."""
    now = now or utcnow()
    return _finish_claim(job, claim_token, now, state="done", result_message=message[:100],
                         completed_at=now)


def mark_failed(job: OutboxJob, claim_token: str, error: str, now: datetime | None = None) -> bool:
    """Give up: a permanent error, or the last allowed try failed."""
    now = now or utcnow()
    return _finish_claim(job, claim_token, now, state="failed", last_error=error[:ERROR_LIMIT],
                         completed_at=now)


def mark_retry(job: OutboxJob, claim_token: str, error: str, next_try_at: datetime,
               now: datetime | None = None) -> bool:
    """A transient failure: due again at `next_try_at`."""
    return _finish_claim(job, claim_token, now or utcnow(), last_error=error[:ERROR_LIMIT],
                         next_try_at=next_try_at)


def backoff_seconds(base: float, tries: int, rng: random.Random | None = None) -> float:
    """Wait after the `tries`-th failed try: base * 2**(tries-1), plus up to 50 % jitter
    (so workers that failed together do not retry together), capped at 15 minutes.
    Never shorter than the exponential step itself."""
    step = base * (2 ** max(0, tries - 1))
    jitter = (rng or random).uniform(0.0, 0.5)
    return min(MAX_BACKOFF_SECONDS, step * (1.0 + jitter))


def failed_jobs() -> list[OutboxJob]:
    """Jobs that need a person: failed, newest first."""
    return list(db.session.scalars(
        select(OutboxJob).where(OutboxJob.state == "failed").order_by(OutboxJob.updated_at.desc())))

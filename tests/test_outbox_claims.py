"""Outbox claims and state changes in the database (both backends): leases, fencing,
try counting, backoff, re-queue."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.db_types import utcnow
from portal.extensions import db
from portal.proctoring.outbox import jobs
from portal.proctoring.outbox.models import OutboxJob
from tests.support.constructor import closed_attempt, job_of

LEASE = 30
MAX = 3


def claim(token: str, now=None):
    return jobs.claim_next(token, LEASE, MAX, now=now)


def test_a_claim_takes_the_due_job_counts_a_try_and_leases_it(app):
    attempt = closed_attempt()
    now = utcnow()
    job = claim("worker-a#1", now)
    assert job is not None and job.attempt_id == attempt.id
    assert job.claimed_by == "worker-a#1" and job.tries == 1
    assert abs((job.lease_until - now).total_seconds() - LEASE) < 1e-3


def test_a_leased_job_is_not_claimed_again_until_the_lease_expires(app):
    closed_attempt()
    now = utcnow()
    assert claim("worker-a#1", now) is not None
    assert claim("worker-b#1", now + timedelta(seconds=LEASE - 1)) is None
    taken = claim("worker-b#2", now + timedelta(seconds=LEASE + 1))
    assert taken is not None and taken.claimed_by == "worker-b#2" and taken.tries == 2


def test_the_oldest_due_job_first_and_future_jobs_wait(app):
    first, second = closed_attempt(), closed_attempt()
    job_of(second).next_try_at = utcnow() - timedelta(minutes=5)
    job_of(first).next_try_at = utcnow() + timedelta(minutes=5)
    db.session.commit()
    assert claim("w#1").attempt_id == second.id
    assert claim("w#2") is None  # the other one is not due yet


def test_outcomes_are_written_only_by_the_claim_holder(app):
    attempt = closed_attempt()
    now = utcnow()
    stale = claim("worker-a#1", now)
    fresh = claim("worker-b#1", now + timedelta(seconds=LEASE + 1))
    assert jobs.mark_done(stale, "worker-a#1", "finished") is False  # lease lost: ignored
    assert jobs.mark_retry(fresh, "worker-b#1", "HTTP 503", now + timedelta(seconds=9)) is True
    db.session.commit()
    job = job_of(attempt)
    assert (job.state, job.last_error, job.claimed_by, job.result_message) == (
        "pending", "HTTP 503", None, None)


def test_done_and_failed_jobs_are_never_claimed(app):
    a, b = closed_attempt(), closed_attempt()
    jobs.mark_done(claim("w#1"), "w#1", "finished")
    jobs.mark_failed(claim("w#2"), "w#2", "HTTP 404")
    db.session.commit()
    assert {job_of(a).state, job_of(b).state} == {"done", "failed"}
    assert claim("w#3") is None


def test_a_job_whose_last_try_died_with_its_worker_is_failed(app):
    attempt = closed_attempt()
    now = utcnow()
    for n in range(MAX):
        job = claim(f"w#{n}", now + timedelta(seconds=n * (LEASE + 1)))
        assert job is not None and job.tries == n + 1
    # The third worker died too; once its lease is over, nobody may try again.
    assert claim("w#x", now + timedelta(seconds=MAX * (LEASE + 1))) is None
    job = job_of(attempt)
    assert job.state == "failed" and "lease expired" in job.last_error


def test_enqueue_is_one_job_per_attempt(app):
    attempt = closed_attempt()
    again = jobs.enqueue("constructor_finish", attempt, {"other": 1})
    db.session.commit()
    assert again.id == job_of(attempt).id and again.payload != {"other": 1}
    assert len(db.session.scalars(select(OutboxJob)).all()) == 1


def test_requeue_gives_a_failed_job_fresh_tries(app):
    attempt = closed_attempt()
    jobs.mark_failed(claim("w#1"), "w#1", "HTTP 400: bad")
    db.session.commit()
    job = jobs.requeue(job_of(attempt))
    db.session.commit()
    assert (job.state, job.tries, job.claimed_by) == ("pending", 0, None)
    assert job.last_error == "HTTP 400: bad"  # kept until the next try replaces it
    with pytest.raises(jobs.JobConflict):
        jobs.requeue(job)


@pytest.mark.parametrize("tries, step", [(1, 0.05), (2, 0.1), (3, 0.2), (6, 1.6)])
def test_backoff_is_exponential_with_up_to_half_again_of_jitter(tries, step):
    rng = random.Random(7)
    waits = [jobs.backoff_seconds(0.05, tries, rng) for _ in range(200)]
    assert all(step <= w <= step * 1.5 + 1e-9 for w in waits)
    assert len({round(w, 6) for w in waits}) > 100  # jittered, not constant


def test_backoff_is_capped():
    assert jobs.backoff_seconds(5.0, 30) == jobs.MAX_BACKOFF_SECONDS

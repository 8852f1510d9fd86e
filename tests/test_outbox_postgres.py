"""PostgreSQL only: the claim skips rows another transaction has locked (SKIP LOCKED)
instead of waiting for them."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from portal.extensions import db
from portal.proctoring.outbox import jobs
from tests.support.app import TEST_DATABASE_URL, make_app
from tests.support.constructor import closed_attempt, job_of

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")]


@pytest.fixture
def pg_app(tmp_path):
    app = make_app("postgresql", tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_a_row_locked_by_another_claimer_is_skipped_not_waited_for(pg_app):
    first, second = closed_attempt(), closed_attempt()
    locked_id = job_of(first).id
    other = create_engine(pg_app.config["SQLALCHEMY_DATABASE_URI"])
    with other.connect() as connection:
        transaction = connection.begin()
        # Another worker in the middle of its claim statement holds this row.
        connection.execute(text("SELECT id FROM outbox_jobs WHERE id = :id FOR UPDATE"), {"id": locked_id})
        db.session.execute(text("SET lock_timeout = '2s'"))  # waiting would fail the test
        job = jobs.claim_next("worker-b#1", 30, 5)
        assert job is not None and job.attempt_id == second.id
        assert jobs.claim_next("worker-b#2", 30, 5) is None  # only the locked one is left
        transaction.rollback()
    other.dispose()
    assert jobs.claim_next("worker-b#3", 30, 5).id == locked_id  # free again

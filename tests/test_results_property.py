"""Property: whatever order (and repetition) a set of deliveries arrives in, the stored
results end the same, and each is the one with the highest (rank, order time).

In-process (results.record_and_apply, one commit per delivery as the view does) on
SQLite, for speed; the HTTP path and PostgreSQL are covered by the other modules.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from portal.extensions import db
from portal.proctoring import ordering, results
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from tests.support.app import make_app

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
TIMES = [None, T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
NEVER = datetime.min.replace(tzinfo=timezone.utc)
RANK = {None: 0, "started": 1, "skipped": 2, "stopped": 2, "accepted": 3, "rejected": 3}
RAW = results.RawDelivery("supervisor", "application/json", {}, "{}")

updates = st.builds(
    ordering.ResultUpdate,
    identifier=st.sampled_from(["a", "b"]),
    status=st.sampled_from(list(RANK)),
    signed_at=st.sampled_from(TIMES),
    stopped_at=st.sampled_from(TIMES),
    score=st.sampled_from([None, 0.0, 50, 99.5]),
    proctor=st.sampled_from([None, "p1", "p2"]),
    averages=st.sampled_from([None, {"n1": 3}, {"c2": 1.5, "n1": 0}]),
    details=st.sampled_from([{}, {"weights": {"c1": 4}}]),
)


@pytest.fixture
def sqlite_app(tmp_path):
    app = make_app("sqlite", tmp_path)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def apply_all(batch: list[ordering.ResultUpdate]) -> dict[str, tuple]:
    """Apply `batch` in order on empty tables; the stored results, comparable."""
    db.session.execute(delete(WebhookDelivery))
    db.session.execute(delete(ProctoringResult))
    db.session.commit()
    for update in batch:
        results.record_and_apply(RAW, update)
        db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == len(batch)
    db.session.expire_all()
    return {row.identifier: (results._stored_update(row).content(), row.rank, row.order_at)
            for row in db.session.scalars(select(ProctoringResult))}


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_order_ends_in_the_same_result(sqlite_app, data):
    batch = data.draw(st.lists(updates, min_size=1, max_size=8), label="batch")
    batch += data.draw(st.lists(st.sampled_from(batch), max_size=3), label="repeats")
    shuffled = data.draw(st.permutations(batch), label="shuffled")

    in_order = apply_all(batch)
    assert apply_all(shuffled) == in_order
    assert apply_all(list(reversed(batch))) == in_order

    for identifier, (_, rank, order_at) in in_order.items():
        theirs = [u for u in batch if u.identifier == identifier]
        best = max((RANK[u.status], u.signed_at or u.stopped_at or NEVER) for u in theirs)
        assert (rank, order_at or NEVER) == best

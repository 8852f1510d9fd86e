"""The ordering rule, table-driven over HTTP: every pair of statuses, in both time orders.

The rule, stated here independently of portal/proctoring/results.py: rank started (1) <
skipped, stopped (2) < accepted, rejected (3); a delivery applies when its rank is
higher, or equal with a signedAt (else stoppedAt) not older than the stored one.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from portal.proctoring import ordering
from tests.support.webhooks import delivery, log_rows, open_attempt, post, result_for

RANK = {"started": 1, "skipped": 2, "stopped": 2, "accepted": 3, "rejected": 3}
EARLY, LATE = "2024-05-01T10:00:00.000Z", "2024-05-01T10:30:00.000Z"
PAIRS = [(first, second, second_time)
         for first, second in itertools.product(RANK, RANK)
         for second_time in ("later", "earlier")]


def expected_winner(first: str, second: str, second_time: str) -> str:
    if RANK[second] != RANK[first]:
        return "second" if RANK[second] > RANK[first] else "first"
    return "second" if second_time == "later" else "first"


@pytest.mark.parametrize("first,second,second_time", PAIRS,
                         ids=[f"{a}-then-{b}-{t}" for a, b, t in PAIRS])
def test_every_status_pair_in_both_time_orders(client, student, exam, first, second, second_time):
    open_attempt(student, exam, "pair")
    first_time, later_time = (EARLY, LATE) if second_time == "later" else (LATE, EARLY)
    one = delivery("pair", first, first_time, score=10, proctor="first")
    two = delivery("pair", second, later_time, score=20, proctor="second")

    assert post(client, one).json["outcome"] == "applied"
    response = post(client, two)

    winner = expected_winner(first, second, second_time)
    assert response.status_code == 200
    assert response.json["outcome"] == ("applied" if winner == "second" else "stale")
    result = result_for("pair")
    expected = two if winner == "second" else one
    assert (result.status, result.proctor, result.score) == (
        expected["status"], expected["proctor"], expected["score"])
    assert result.rank == RANK[expected["status"]]
    assert [row.outcome for row in log_rows()] == ["applied", response.json["outcome"]]


@pytest.mark.parametrize("status", list(RANK))
def test_equal_rank_and_time_never_flip_back(client, student, exam, status):
    """Different content at the same rank and time (no real sender does it) is decided
    by content, so a retry of the loser does not flip the result back."""
    open_attempt(student, exam, "tie")
    a = delivery("tie", status, EARLY, score=10)
    b = delivery("tie", status, EARLY, score=20)
    post(client, a)
    post(client, b)
    winner_ab = result_for("tie").score
    post(client, a)  # a late retry of the loser never wins it back
    assert result_for("tie").score == winner_ab
    second, retry = [row.outcome for row in log_rows()[1:]]
    # b applied and a is now stale, or b was stale and a is a repeat: never applied twice
    assert (second, retry) in (("applied", "stale"), ("stale", "repeat"))


def test_ties_end_the_same_whatever_the_order(app_with):
    finals = []
    for order in ((0, 1), (1, 0)):
        client = app_with().test_client()
        bodies = [delivery("tie", "accepted", EARLY, proctor="a"),
                  delivery("tie", "rejected", EARLY, proctor="b")]
        for i in order:
            assert post(client, bodies[i]).status_code == 200
        finals.append((result_for("tie").status, result_for("tie").proctor))
    assert finals[0] == finals[1]


@pytest.fixture
def app_with(backend, tmp_path):
    """Fresh apps on empty databases, one per call (the previous one is closed)."""
    from portal.extensions import db
    from tests.support.app import make_app
    contexts = []
    built = iter(range(100))

    def build(**settings):
        if contexts:
            db.session.remove()
            db.engine.dispose()
            contexts.pop().pop()
        folder = tmp_path / f"app{next(built)}"
        folder.mkdir()
        app = make_app(backend, folder, **settings)
        context = app.app_context()
        context.push()
        contexts.append(context)
        return app

    yield build
    for context in contexts:
        db.session.remove()
        db.engine.dispose()
        context.pop()


def test_stopped_at_decides_when_there_is_no_signed_at(client):
    newer = delivery("s", "stopped", None, stoppedAt=LATE, score=1)
    older = delivery("s", "stopped", None, stoppedAt=EARLY, score=2)
    post(client, newer)
    post(client, older)
    assert result_for("s").score == 1
    assert "Older than the stored result" in log_rows()[-1].detail


def test_signed_at_wins_over_stopped_at(client):
    """signedAt is the order time when present, even if stoppedAt says otherwise."""
    first = delivery("s", "stopped", LATE, stoppedAt=EARLY, score=1)
    second = delivery("s", "stopped", EARLY, stoppedAt=LATE, score=2)
    post(client, first)
    post(client, second)
    assert result_for("s").score == 1


def test_a_missing_time_is_older_than_any_time(client):
    timed = delivery("s", "stopped", EARLY, score=1)
    untimed = delivery("s", "stopped", None, score=2)
    post(client, timed)
    post(client, untimed)
    assert result_for("s").score == 1
    post(client, delivery("u", "stopped", None, score=2))
    post(client, delivery("u", "stopped", EARLY, score=1))
    assert result_for("u").score == 1


def test_a_delivery_without_status_never_overwrites_one_with_status(client):
    post(client, delivery("n", "started", EARLY))
    post(client, delivery("n", None, LATE, score=3))
    assert result_for("n").status == "started"
    post(client, delivery("fresh", None, None, score=3))
    assert result_for("fresh").score == 3 and result_for("fresh").rank == 0


def test_decide_is_the_rule(app):
    """The pure function, without HTTP: the three outcomes."""
    stored = ordering.ResultUpdate("x", "stopped", score=1.0)
    assert ordering.decide(None, stored) == "applied"
    assert ordering.decide(stored, ordering.ResultUpdate("x", "stopped", score=1)) == "repeat"
    assert ordering.decide(stored, ordering.ResultUpdate("x", "started")) == "stale"
    assert ordering.decide(stored, ordering.ResultUpdate("x", "accepted")) == "applied"


def test_the_rule_compares_against_the_stored_order_columns(app):
    # The stored side is the result's rank and order_at columns, not a recomputation
    # from its status and times: a stored rank 3 outranks any stopped delivery.
    later = datetime(2030, 1, 1, tzinfo=timezone.utc)
    update = ordering.ResultUpdate("x", "stopped", signed_at=later)
    assert ordering.decide(ordering.ResultUpdate("x", "started", score=1.0), update) == "applied"
    stored = ordering.StoredResult("x", "started", score=1.0, stored_rank=3)
    assert ordering.decide(stored, update) == "stale"
    newer = ordering.StoredResult("x", "stopped", score=1.0, stored_rank=2,
                                 stored_order_at=datetime(2031, 1, 1, tzinfo=timezone.utc))
    assert ordering.decide(newer, update) == "stale"

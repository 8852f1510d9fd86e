"""The webhook's hot path in SQL: one read, then the writes (result, log row), so that
SQLite's one write lock is held for as little as possible; and what it does when the
rows change between its read and its writes (another worker, another host)."""
from __future__ import annotations

import pytest
from sqlalchemy import event, update

from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring import ordering, results
from portal.proctoring.models import ProctoringResult
from portal.db_types import utcnow
from tests.support.webhooks import delivery, log_rows, open_attempt, post, result_for


def _statements(client, body) -> tuple[dict, list[str]]:
    """The answer to `body` and the first words of each SQL statement it ran."""
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()[:4]))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        answer = post(client, body)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return answer.json, seen


# Deliveries that close nothing (`started` is the one status that is not final).
STATUS_ONLY = {"status": "started", "signed": None}
SIGNED = {"status": "started", "signed": "2024-05-01T10:00:00.000Z"}
INSERT, UPDATE = "INSERT INTO proctoring_results", "UPDATE proctoring_results SET"
LOG = "INSERT INTO webhook_deliveries"
# A repeat or stale delivery writes nothing to its result, but locks it as read before
# its log row: on SQLite the log row's INSERT ... SELECT does (it takes the write lock,
# then finds the result as read), on PostgreSQL a SELECT ... FOR UPDATE.
CONFIRM = {"sqlite": [], "postgresql": ["SELECT proctoring_results.id FROM"]}


@pytest.mark.parametrize("kind,prepare,body,outcome,result_statements", [
    ("new result", None, STATUS_ONLY, "applied", [INSERT]),
    ("newer", STATUS_ONLY, SIGNED, "applied", [UPDATE]),
    ("repeat", STATUS_ONLY, STATUS_ONLY, "repeat", CONFIRM),
    ("stale", SIGNED, STATUS_ONLY, "stale", CONFIRM),
])
@pytest.mark.parametrize("matched", [True, False], ids=["matched", "unmatched"])
def test_a_delivery_reads_once_then_writes_its_result_and_log_row(
        client, backend, student, exam, kind, prepare, body, outcome, result_statements,
        matched):
    """Two or three statements whatever the outcome: the attempt and result read
    together, the result's write (none for a repeat or stale delivery, whose result is
    locked as read), the log row; nothing read once the write lock is taken. (The
    attempt's evidence is there already: the first news of a session is one UPDATE
    more, a final status closing the attempt more still.)"""
    identifier = f"hot-{kind.replace(' ', '-')}"
    if matched:
        attempt = open_attempt(student, exam, identifier, started=True)
        attempt.vendor_first_delivery_at = attempt.vendor_started_at = utcnow()
        db.session.commit()
    if prepare is not None:
        assert post(client, delivery(identifier, **prepare)).status_code == 200

    answer, seen = _statements(client, delivery(identifier, **body))

    assert answer["outcome"] == (outcome if matched else "unmatched")
    if isinstance(result_statements, dict):
        result_statements = result_statements[backend]
    expected = ["SELECT attempts.id, attempts.vendor,", *result_statements, LOG]
    assert len(seen) == len(expected), "\n".join(seen)
    assert all(s.startswith(e) for s, e in zip(seen, expected)), seen


def _elsewhere(statement) -> None:
    """Run and commit `statement` on a connection of its own: another worker's write."""
    with db.engine.begin() as other:
        other.execute(statement)


@pytest.mark.parametrize("incoming,meanwhile", [
    # as read, `stopped` would apply: the UPDATE finds the row changed
    ({"status": "stopped"}, {"status": "accepted", "rank": 3}),
    # as read, a repeat: the lock (SQLite: the log row's INSERT) finds the row changed
    (STATUS_ONLY, {"status": "started", "rank": 1}),
], ids=["would-apply", "would-repeat"])
def test_a_result_changed_since_the_read_is_decided_again_under_the_lock(
        client, student, exam, monkeypatch, incoming, meanwhile):
    """A newer result stored by another worker between this delivery's read and its
    writes wins over what this delivery brings, which the result as read would have
    applied or called a repeat: decided again on the locked row, the log says stale."""
    open_attempt(student, exam, "raced", started=True)
    assert post(client, delivery("raced", **STATUS_ONLY)).status_code == 200
    decide, calls = ordering.decide, []

    def decide_while_another_worker_writes(stored, incoming_update):
        if not calls:  # the first decision, on the result as read
            _elsewhere(update(ProctoringResult.__table__)
                       .where(ProctoringResult.identifier == "raced")
                       .values(order_at=utcnow(), signed_at=utcnow(), updated_at=utcnow(),
                               **meanwhile))
        calls.append(incoming_update.status)
        return decide(stored, incoming_update)

    monkeypatch.setattr(results, "decide", decide_while_another_worker_writes)
    answer = post(client, delivery("raced", **incoming))

    assert answer.json["outcome"] == "stale"
    assert calls == [incoming["status"]] * 2  # decided again, on the locked row
    assert result_for("raced").status == meanwhile["status"]
    assert [row.outcome for row in log_rows()] == ["applied", "stale"]


def test_an_attempt_given_the_identifier_since_the_read_is_linked(client, student, exam,
                                                                  monkeypatch):
    """The first delivery of an identifier no attempt had when it was read, while the
    attempt appears (its own linking of unmatched results ran before this result
    existed): the result's INSERT links it, and the delivery applies to the attempt."""
    attempt = open_attempt(student, exam, "not-yet", started=True)
    applied_values = results._applied_values

    def values_while_the_attempt_appears(update_):
        _elsewhere(update(Attempt.__table__).where(Attempt.__table__.c.id == attempt.id)
                   .values(identifier="appearing"))
        return applied_values(update_)

    monkeypatch.setattr(results, "_applied_values", values_while_the_attempt_appears)
    answer = post(client, delivery("appearing", status="stopped"))
    monkeypatch.undo()

    assert answer.json["outcome"] == "applied"
    assert result_for("appearing").attempt_id == attempt.id
    db.session.refresh(attempt)
    assert attempt.state == "terminated"  # the final status closed it, as a matched one does
    assert "No attempt" not in log_rows()[-1].detail


def test_decide_agrees_with_the_rule_in_its_own_words():
    """`decide` compares values before texts; it answers as the rule says in its own
    words (same content text: repeat; else the higher (rank, order_at, hash of the text)),
    also where values and texts disagree (1 == 1.0 == true in details, not in JSON)."""
    import itertools
    import random
    from datetime import datetime, timezone

    t1, t2 = (datetime(2024, 5, 1, h, tzinfo=timezone.utc) for h in (10, 11))
    variants = list(itertools.product(
        ("started", "stopped"), (None, t1, t2), (1, 1.0, 2),
        ({}, {"x": 1}, {"x": 1.0}, {"x": True}), (None, {"b1": 1}, {"b1": 1.0}, {"b1": 2.0})))

    def update_of(status, signed, score, details, averages):
        return ordering.ResultUpdate("s", status, signed_at=signed, score=score,
                                    details=details, averages=averages)

    def stored_of(*variant):
        u = update_of(*variant)
        return ordering.StoredResult(**{f: getattr(u, f) for f in u.__dataclass_fields__},
                                    stored_rank=u.rank, stored_order_at=u.order_at)

    def by_the_rule(stored, update):
        if update.content() == stored.content():
            return ordering.REPEAT
        return ordering.APPLIED if update.sort_key() > stored.sort_key() else ordering.STALE

    rng = random.Random(14)
    pairs = [(rng.choice(variants), rng.choice(variants)) for _ in range(3000)]
    pairs += [(v, v) for v in variants]
    decisions = set()
    for stored_variant, update_variant in pairs:
        stored, update_ = stored_of(*stored_variant), update_of(*update_variant)
        decision = ordering.decide(stored, update_)
        assert decision == by_the_rule(stored, update_), (stored_variant, update_variant)
        decisions.add(decision)
    assert decisions == {ordering.APPLIED, ordering.REPEAT, ordering.STALE}

"""Many deliveries for the same identifiers, posted at once from threads to a live,
threaded server (SQLite file; PostgreSQL too when TEST_DATABASE_URL is set): the stored
results are the ones the ordering rule gives, and every delivery is in the log."""
from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring import ordering, results
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from tests.support.app import add_exam, add_user, make_app
from tests.support.webhooks import KEY, open_attempt

RANK = {"started": 1, "skipped": 2, "stopped": 2, "accepted": 3, "rejected": 3}
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
IDENTIFIERS = ("matched1", "matched2", "unknown1")
PER_IDENTIFIER = 16
COPIES = 2  # every delivery is sent twice: repeats race with their originals
THREADS = 12
DECISION_DELAY = 0.003  # seconds: widens the read-decide-write window a race would use


@pytest.fixture
def live(backend, tmp_path):
    """(base URL, app) of the portal served for real on a free loopback port."""
    app = make_app(backend, tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="webhook-live", daemon=True)
    thread.start()
    with app.app_context():
        yield f"http://127.0.0.1:{server.server_port}", app
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        db.session.remove()
        db.engine.dispose()


def make_deliveries(rng: random.Random) -> list[dict]:
    """Distinct times per identifier, so the rule alone names each winner."""
    bodies = []
    for identifier in IDENTIFIERS:
        minutes = rng.sample(range(1000), PER_IDENTIFIER)
        for n, minute in enumerate(minutes):
            at = (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
            bodies.append({"identifier": identifier, "status": rng.choice(list(RANK)),
                           "signedAt": at, "score": n, "proctor": f"p{n}"})
    return bodies


def decision_of(row: WebhookDelivery) -> str:
    """applied | stale | repeat, also for unmatched deliveries (from the detail)."""
    if row.outcome != "unmatched":
        return row.outcome
    return {"Applied.": "applied", "Older": "stale", "Same content": "repeat"}[
        next(k for k in ("Applied.", "Older", "Same content") if k in row.detail)]


def assert_linear(rows: list[WebhookDelivery]) -> None:
    """Replayed in log order (the order the row lock granted), each decision is the one
    the rule gives against the result as it was then: no lost or crossed update."""
    current = None
    for row in rows:
        body = json.loads(row.body)
        key = (RANK[body["status"]], body["signedAt"])
        decision = decision_of(row)
        if current is None or key > current:
            assert decision == "applied", (row.id, key, current, decision)
            current = key
        else:
            assert decision == ("repeat" if key == current else "stale"), (row.id, key, current)


def test_parallel_deliveries_end_as_the_rule_says(live, monkeypatch):
    base_url, app = live
    decide = ordering.decide

    def slow_decide(stored, update):
        time.sleep(DECISION_DELAY)
        return decide(stored, update)

    monkeypatch.setattr(results, "decide", slow_decide)
    exam = add_exam()
    attempts = {identifier: open_attempt(add_user(f"student{n}"), exam, identifier)
                for n, identifier in enumerate(IDENTIFIERS[:2])}
    rng = random.Random(5)
    bodies = make_deliveries(rng)
    sends = bodies * COPIES
    rng.shuffle(sends)
    local = threading.local()

    def send(body: dict) -> tuple[int, str]:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        response = local.http.post(f"{base_url}/api/proctoring/webhook", json=body,
                                   headers={"X-Api-Key": KEY}, timeout=60)
        return response.status_code, response.json().get("outcome")

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(send, sends))

    assert Counter(status for status, _ in answers) == {200: len(sends)}
    db.session.expire_all()
    log = list(db.session.scalars(select(WebhookDelivery)))
    assert len(log) == len(sends)
    assert Counter(row.identifier for row in log) == {i: PER_IDENTIFIER * COPIES for i in IDENTIFIERS}

    for identifier in IDENTIFIERS:
        theirs = [b for b in bodies if b["identifier"] == identifier]
        winner = max(theirs, key=lambda b: (RANK[b["status"]], b["signedAt"]))
        result = db.session.scalar(select(ProctoringResult).where(
            ProctoringResult.identifier == identifier))
        assert (result.status, result.score, result.proctor) == (
            winner["status"], winner["score"], winner["proctor"]), identifier
        rows = sorted((row for row in log if row.identifier == identifier), key=lambda r: r.id)
        assert_linear(rows)
        outcomes = Counter(row.outcome for row in rows)
        if identifier in attempts:
            assert set(outcomes) <= {"applied", "repeat", "stale"}
        else:
            assert outcomes == {"unmatched": PER_IDENTIFIER * COPIES}

    for identifier, attempt in attempts.items():
        db.session.refresh(attempt)
        final = any(b["status"] != "started" for b in bodies if b["identifier"] == identifier)
        assert attempt.state == ("terminated" if final else "in_progress")
    assert db.session.scalar(select(Attempt.id).where(Attempt.identifier == "unknown1")) is None

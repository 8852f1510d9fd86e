"""Faults during a webhook burst: a gunicorn worker killed with SIGKILL, PostgreSQL
stopped and restarted, a request queue filled past its capacity.

Each test sends a bounded burst of deliveries (each its own identifier, so each 200
is checkable on its own) from several threads to a portal served by gunicorn, causes
the fault part-way, and then checks what a sender relies on: every delivery answered
200 is in the delivery log and applied (its result exists); every other one got an
error status (5xx) or a connection error, so the sender retries it; and the same
portal processes (no restart of their own) answer the next deliveries with 200.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from tests.support.app import BASE_CONFIG
from tests.support.gunicorn import SETTINGS, Portal, migrate
from tests.support.pg import Cluster, fresh_database, pg_bin

KEY = SETTINGS["PROCTOR_WEBHOOK_KEY"]
CONNECTION_ERROR = "connection error"


def _body(identifier: str) -> dict:
    return {"identifier": identifier, "status": "started", "startedAt": "2024-05-01T00:00:00.000Z",
            "stoppedAt": None, "signedAt": None, "score": 90, "threshold": 50, "duration": 1}


def burst(base: str, prefix: str, count: int, senders: int, fault, fault_after: int,
          timeout: tuple[float, float] = (3, 15)) -> dict[str, int | str]:
    """POST `count` deliveries from `senders` threads; call fault() (in its own thread)
    once `fault_after` answers have arrived. Returns each identifier's HTTP status, or
    CONNECTION_ERROR."""
    answered = 0
    lock = threading.Lock()
    fired = threading.Event()

    def send(n: int) -> tuple[str, int | str]:
        nonlocal answered
        identifier = f"{prefix}-{n:04d}"
        try:
            code: int | str = requests.post(f"{base}/api/proctoring/webhook", json=_body(identifier),
                                            headers={"X-Api-Key": KEY}, timeout=timeout).status_code
        except requests.RequestException:
            code = CONNECTION_ERROR
        with lock:
            answered += 1
            if answered == fault_after and not fired.is_set():
                fired.set()
                threading.Thread(target=fault, daemon=True).start()
        return identifier, code

    with ThreadPoolExecutor(max_workers=senders) as pool:
        outcome = dict(pool.map(send, range(count)))
    assert fired.is_set(), "the burst ended before the fault"
    return outcome


def stored(database_url: str) -> tuple[set[str], set[str]]:
    """Identifiers in the delivery log, and those with a result (applied)."""
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        logged = set(db.session.scalars(select(WebhookDelivery.identifier)))
        applied = set(db.session.scalars(select(ProctoringResult.identifier)))
        db.session.remove()
        db.engine.dispose()
    return logged, applied


def check_burst(outcome: dict, logged: set[str], applied: set[str]) -> list[str]:
    """What a sender relies on; returns the identifiers answered 200."""
    ok = [i for i, code in outcome.items() if code == 200]
    lost = [i for i in ok if i not in logged or i not in applied]
    assert not lost, f"answered 200 but not stored and applied: {lost}"
    # Anything else must make the sender retry: a 5xx or no answer at all, never a 4xx.
    others = {code for code in outcome.values() if code != 200}
    assert all(code == CONNECTION_ERROR or code >= 500 for code in others), others
    return ok


def recovers(portal: Portal, prefix: str, database_url: str) -> None:
    """The same processes answer the next deliveries (retries) with 200, stored."""
    master = portal.process.pid
    deadline = time.monotonic() + 20
    while True:
        try:
            code = requests.post(f"{portal.url}/api/proctoring/webhook", json=_body(f"{prefix}-probe"),
                                 headers={"X-Api-Key": KEY}, timeout=5).status_code
        except requests.RequestException:
            code = CONNECTION_ERROR
        if code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert code == 200, portal.log()[-3000:]
    codes = [requests.post(f"{portal.url}/api/proctoring/webhook", json=_body(f"{prefix}-after-{n}"),
                           headers={"X-Api-Key": KEY}, timeout=10).status_code for n in range(10)]
    assert codes == [200] * 10, portal.log()[-3000:]
    assert portal.process.poll() is None and portal.process.pid == master
    logged, applied = stored(database_url)
    assert {f"{prefix}-after-{n}" for n in range(10)} <= logged & applied


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    migrate(url)
    return url


def test_a_worker_killed_mid_burst_loses_no_acknowledged_delivery(sqlite_url, tmp_path):
    portal = Portal(sqlite_url, tmp_path / "gunicorn.log", workers=2, threads=4)
    try:
        victims = portal.worker_pids()

        def kill_one() -> None:
            os.kill(victims[0], signal.SIGKILL)

        outcome = burst(portal.url, "kill", count=300, senders=12, fault=kill_one, fault_after=60)
        logged, applied = stored(sqlite_url)
        ok = check_burst(outcome, logged, applied)
        assert len(ok) > 60, outcome  # the survivor (and the new worker) kept taking them
        recovers(portal, "kill", sqlite_url)
        assert victims[0] not in portal.worker_pids()  # the master replaced it
    finally:
        portal.stop()


def test_a_full_request_queue_refuses_connections_and_loses_nothing(sqlite_url, tmp_path):
    """One sync worker, a listen backlog of 2, 48 senders: most connections wait or are
    refused (the kernel drops SYNs beyond the backlog, the client's connect times out)."""
    portal = Portal(sqlite_url, tmp_path / "gunicorn.log", workers=1, threads=1,
                    extra_args=("--worker-class", "sync", "--backlog", "2", "--timeout", "20"))
    try:
        outcome = burst(portal.url, "queue", count=240, senders=48, fault=lambda: None,
                        fault_after=1, timeout=(0.5, 10))
        logged, applied = stored(sqlite_url)
        ok = check_burst(outcome, logged, applied)
        refused = [i for i, code in outcome.items() if code == CONNECTION_ERROR]
        assert refused, "the queue never overflowed: nothing to check"
        assert ok, outcome
        recovers(portal, "queue", sqlite_url)
    finally:
        portal.stop()


@pytest.mark.skipif(pg_bin() is None, reason="needs PostgreSQL's server binaries (apt-get install postgresql)")
def test_postgresql_stopped_and_restarted_mid_burst(tmp_path):
    cluster = Cluster()
    try:
        with fresh_database(cluster.url) as url:
            migrate(url)
            portal = Portal(url, tmp_path / "gunicorn.log", workers=2, threads=4)
            try:
                def bounce() -> None:
                    cluster.stop("fast")
                    time.sleep(1.0)
                    cluster.start()

                outcome = burst(portal.url, "pg", count=400, senders=12, fault=bounce,
                                fault_after=60)
                cluster.wait_ready()
                logged, applied = stored(url)
                ok = check_burst(outcome, logged, applied)
                assert 0 < len(ok) < len(outcome), outcome  # the outage showed
                recovers(portal, "pg", url)
            finally:
                portal.stop()
    finally:
        cluster.destroy()

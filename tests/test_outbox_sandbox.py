"""The finish worker against the sandbox's real Constructor endpoints over HTTP, with
its fault injection: retries with backoff, connection failures, 4xx, every 200 message."""
from __future__ import annotations

import socket
import threading

import jwt
from werkzeug.serving import make_server

from portal.extensions import db
from portal.proctoring.outbox.models import OutboxJob
from portal.proctoring.providers import constructor
from tests.support.constructor import (BACKOFF_BASE, SECRET, closed_attempt, gaps, job_of,
                                       job_state_is, run_until)


def deliver(app, attempt, timeout: float = 15.0) -> OutboxJob:
    run_until(app, job_state_is(attempt.id, "done", "failed"), timeout=timeout)
    return job_of(attempt)


def test_503_twice_then_finished_three_tries_with_backoff(live_app, sandbox, outbox_logs):
    attempt = closed_attempt(sandbox)
    sandbox.faults("503:2")
    job = deliver(live_app, attempt)
    assert (job.state, job.result_message, job.tries) == ("done", "finished", 3)
    calls = sandbox.calls(attempt.identifier)
    assert [c["outcome"] for c in calls] == ["fault:503", "fault:503", "finished"]
    first_wait, second_wait = gaps(calls)
    # base * 2**(n-1), plus up to 50 % jitter (scheduling adds a little on top).
    assert BACKOFF_BASE <= first_wait < 1.0
    assert 2 * BACKOFF_BASE <= second_wait < 1.0
    assert sandbox.session(attempt.identifier)["state"] == "finished"
    assert sandbox.session(attempt.identifier)["finishUrl"].endswith(f"/attempts/{attempt.id}/result")
    lines = [r.getMessage() for r in outbox_logs.records if r.name == "portal.outbox"]
    retry_lines = [line for line in lines if "HTTP 503" in line]
    assert len(retry_lines) == 2
    assert f"outbox job {job.id}" in retry_lines[0] and attempt.identifier in retry_lines[0]
    assert "try 1/5" in retry_lines[0] and "try 2/5" in retry_lines[1]
    assert "next try at" in retry_lines[0]
    assert any("try 3/5 -> done: finished" in line for line in lines)


def test_a_dropped_connection_is_retried(live_app, sandbox):
    attempt = closed_attempt(sandbox)
    sandbox.faults("drop:1")
    job = deliver(live_app, attempt)
    assert (job.state, job.result_message, job.tries) == ("done", "finished", 2)
    assert [c["outcome"] for c in sandbox.calls(attempt.identifier)] == ["fault:drop", "finished"]


def test_a_timeout_is_retried_and_the_vendor_dedupes_the_late_one(live_app, sandbox):
    live_app.config["OUTBOX_HTTP_TIMEOUT"] = (1.0, 0.4)
    attempt = closed_attempt(sandbox)
    sandbox.faults("delay:1.5:1")
    job = deliver(live_app, attempt)
    assert (job.state, job.result_message, job.tries) == ("done", "finished", 2)
    run_until(live_app, lambda: len(sandbox.calls(attempt.identifier)) == 2, timeout=5)
    outcomes = sorted(c["outcome"] for c in sandbox.calls(attempt.identifier))
    # The timed-out request still reached the vendor, later: it changed nothing.
    assert outcomes == ["delayed 1.5s, not_changed", "finished"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_for_a_while_then_delivered(live_app, sandbox):
    """The vendor is down (nothing listens), then comes back on the same address."""
    attempt = closed_attempt(sandbox)  # the session exists at the sandbox's own address
    port = _free_port()
    live_app.config.update(CONSTRUCTOR_URL=f"http://127.0.0.1:{port}", OUTBOX_MAX_TRIES=20)
    run_until(live_app, lambda: job_of(attempt).tries >= 3)
    job = job_of(attempt)
    assert job.state == "pending" and "connection error" in job.last_error
    assert sandbox.calls(attempt.identifier) == []

    server = make_server("127.0.0.1", port, sandbox.app, threaded=True)  # back up
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        job = deliver(live_app, attempt)
    finally:
        server.shutdown()
        server.server_close()
    assert (job.state, job.result_message) == ("done", "finished")
    assert job.tries >= 4
    assert [c["outcome"] for c in sandbox.calls(attempt.identifier)] == ["finished"]


def test_a_4xx_fails_at_once_with_the_error(live_app, sandbox, outbox_logs):
    attempt = closed_attempt()  # never started at the vendor: 404
    job = deliver(live_app, attempt)
    assert (job.state, job.tries) == ("failed", 1)
    assert job.last_error.startswith("HTTP 404") and "session not found" in job.last_error
    assert job.completed_at is not None
    assert any("FAILED (permanent error)" in r.getMessage() and attempt.identifier in r.getMessage()
               for r in outbox_logs.records)


def test_a_wrong_secret_is_a_401_and_fails_at_once(live_app, sandbox):
    attempt = closed_attempt(sandbox)
    live_app.config["CONSTRUCTOR_JWT_SECRET"] = "not-the-shared-secret-0123456789abcdef"
    job = deliver(live_app, attempt)
    assert (job.state, job.tries) == ("failed", 1)
    assert job.last_error.startswith("HTTP 401") and "signature" in job.last_error
    assert sandbox.session(attempt.identifier)["state"] == "started"


def test_out_of_tries_is_failed_with_the_last_error_then_requeued(live_app, sandbox):
    live_app.config["OUTBOX_MAX_TRIES"] = 3
    attempt = closed_attempt(sandbox)
    sandbox.faults("503:3")
    job = deliver(live_app, attempt)
    assert (job.state, job.tries) == ("failed", 3) and job.last_error.startswith("HTTP 503")
    constructor.requeue_finish(job.attempt)
    db.session.commit()
    job = deliver(live_app, attempt)
    assert (job.state, job.result_message, job.tries) == ("done", "finished", 1)


def test_not_changed_completes_the_job(live_app, sandbox):
    attempt = closed_attempt(sandbox)
    assert sandbox.finish_directly(attempt.identifier) == "finished"
    job = deliver(live_app, attempt)
    assert (job.state, job.result_message, job.tries) == ("done", "not_changed", 1)


def test_canceled_completes_the_job(live_app, sandbox):
    attempt = closed_attempt()
    created = sandbox.console("POST", "/constructor/sessions",
                              json={"sessionId": attempt.identifier, "accountId": "portal"})
    assert created.status_code == 201  # scheduled, never started
    job = deliver(live_app, attempt)
    assert (job.state, job.result_message) == ("done", "canceled")
    assert sandbox.session(attempt.identifier)["state"] == "canceled"


def test_the_sandbox_accepted_every_token_it_checked(live_app, sandbox):
    attempt = closed_attempt(sandbox)
    sandbox.faults("503:1")
    deliver(live_app, attempt)
    checked = [c for c in sandbox.calls(attempt.identifier) if not c["outcome"].startswith("fault")]
    assert checked and all(c["authOk"] for c in checked)


def test_each_job_is_sent_once_by_competing_workers(live_app, sandbox):
    """Four worker threads against one queue (the PostgreSQL leg runs it on PostgreSQL)."""
    attempts = [closed_attempt(sandbox) for _ in range(12)]
    ids = [a.id for a in attempts]
    workers = []

    def all_done() -> bool:
        return all(job_state_is(i, "done")() for i in ids)

    threads = [threading.Thread(target=lambda n=n: workers.append(
        run_until(live_app, all_done, name=f"racer-{n}")), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(workers) == 4
    per_session = {}
    for call in sandbox.calls():
        per_session.setdefault(call["sessionId"], []).append(call["outcome"])
    assert {a.identifier for a in attempts} == set(per_session)
    assert all(outcomes == ["finished"] for outcomes in per_session.values()), per_session
    assert {job_of(a).result_message for a in attempts} == {"finished"}
    assert {job_of(a).tries for a in attempts} == {1}


def test_the_token_is_a_bare_exp_signed_hs256(live_app):
    token = constructor.server_token()
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert set(jwt.decode(token, SECRET, algorithms=["HS256"])) == {"exp"}

"""`flask --app wsgi outbox work` as a real process: graceful on SIGTERM, and a worker
killed mid-job whose claimed job is taken over after its lease, never sent twice at once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.extensions import db
from portal.proctoring.outbox.worker import Worker
from tests.support.app import BASE_CONFIG
from tests.support.constructor import closed_attempt, iso, job_of, run_until

ROOT = Path(__file__).resolve().parents[1]
FLASK = str(Path(sys.executable).with_name("flask"))


def worker_process(app, lease: int, *args: str) -> subprocess.Popen:
    """A `flask outbox work` process on the test's database, aimed at the sandbox."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PROCTOR_", "CONSTRUCTOR_", "OUTBOX_"))}
    env.update({
        "PORTAL_MODE": "test",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://"),
        "CONSTRUCTOR_URL": app.config["CONSTRUCTOR_URL"],
        "CONSTRUCTOR_JWT_SECRET": BASE_CONFIG["CONSTRUCTOR_JWT_SECRET"],
        "PUBLIC_URL": "http://portal.test",
        "OUTBOX_LEASE_SECONDS": str(lease),
        "OUTBOX_BACKOFF_BASE": "0.05",
        "PYTHONUNBUFFERED": "1",
    })
    return subprocess.Popen([FLASK, "--app", "wsgi", "outbox", "work", "--poll", "0.05", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_claim(app, attempt, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        if job_of(attempt).claimed_by:
            return
        if process.poll() is not None:
            pytest.fail(f"the worker exited early: {process.communicate()}")
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"the worker never claimed the job: {process.communicate()}")


def test_sigterm_finishes_the_current_job_then_exits(live_app, sandbox):
    attempt = closed_attempt(sandbox)
    sandbox.faults("delay:1.5:1")  # the call is under way when SIGTERM arrives
    process = worker_process(live_app, lease=10)
    wait_for_claim(live_app, attempt, process)
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "SIGTERM: finishing the current job" in err
    job = job_of(attempt)
    assert (job.state, job.result_message, job.tries) == ("done", "finished", 1)
    assert [c["outcome"] for c in sandbox.calls(attempt.identifier)] == ["delayed 1.5s, finished"]


def test_a_killed_worker_s_job_is_taken_over_after_its_lease_and_not_before(live_app, sandbox):
    lease = 3
    live_app.config["OUTBOX_LEASE_SECONDS"] = lease
    attempt = closed_attempt(sandbox)
    sandbox.faults("delay:1:1")  # the dead worker's request is still in flight at the vendor
    process = worker_process(live_app, lease)
    wait_for_claim(live_app, attempt, process)
    claimed = job_of(attempt)
    claimed_by, lease_until = claimed.claimed_by, claimed.lease_until
    time.sleep(0.3)
    process.kill()  # SIGKILL: no cleanup, the claim stays
    process.communicate(timeout=10)

    other = Worker(live_app, name="survivor", reconcile_seconds=0)
    assert other.run_once() is None  # leased: not taken, not sent
    assert job_of(attempt).claimed_by == claimed_by

    run_until(live_app, lambda: job_of(attempt).state == "done", timeout=lease + 10, name="survivor")
    job = job_of(attempt)
    assert job.tries == 2  # the dead worker's try counts
    calls = sandbox.calls(attempt.identifier)
    assert iso(calls[1]["at"]) >= lease_until  # taken over only once the lease had run out
    outcomes = [c["outcome"] for c in calls]
    # The killed worker's request had reached the vendor; the takeover's answer says so.
    assert outcomes == ["delayed 1.0s, finished", "not_changed"]
    assert job.result_message == "not_changed"


def test_the_worker_refuses_to_start_without_the_secret(live_app, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PROCTOR_", "CONSTRUCTOR_"))}
    env.update({"PORTAL_MODE": "production", "SECRET_KEY": "x" * 32,
                "PROCTOR_JWT_SECRET": "y" * 32, "PROCTOR_WEBHOOK_KEY": "z" * 32,
                "PUBLIC_URL": "http://portal.test",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}"})
    result = subprocess.run([FLASK, "--app", "wsgi", "outbox", "work", "--once"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "CONSTRUCTOR_JWT_SECRET is not set" in result.stderr


def test_two_worker_processes_send_each_job_once(live_app, sandbox):
    """Two `flask outbox work` processes racing on one queue (SQLite, and PostgreSQL
    with SKIP LOCKED in the PostgreSQL leg): every session gets exactly one finish call."""
    attempts = [closed_attempt(sandbox) for _ in range(16)]
    # Each call takes 0.25 s at the vendor, so one worker alone needs 4 s for the queue:
    # the other has started by then, and the two really race (not a race to start first).
    sandbox.faults("delay:0.25:16")
    processes = [worker_process(live_app, 10, "--name", f"racer-{n}") for n in range(2)]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.session.expire_all()
            if all(job_of(a).state == "done" for a in attempts):
                break
            time.sleep(0.05)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        logs = [process.communicate(timeout=20)[1] for process in processes]
    assert all(job_of(a).state == "done" for a in attempts), logs
    per_session: dict[str, list[str]] = {}
    for call in sandbox.calls():
        per_session.setdefault(call["sessionId"], []).append(call["outcome"])
    assert per_session == {a.identifier: ["delayed 0.25s, finished"] for a in attempts}
    assert {job_of(a).tries for a in attempts} == {1}
    # Both took part (each logs the jobs it completed).
    assert all("-> done: finished" in log for log in logs), logs

"""gunicorn.conf.py: with OUTBOX_IN_PROCESS_WORKER on, each gunicorn worker process runs
an outbox thread (started after the fork, never by create_app) that delivers jobs."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from portal import create_app
from tests.support.app import BASE_CONFIG
from tests.support.constructor import closed_attempt, job_of

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_gunicorn_hook_runs_a_worker_thread_that_delivers(live_app, sandbox):
    attempt = closed_attempt(sandbox)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROCTOR_", "CONSTRUCTOR_", "OUTBOX_"))}
    env.update({"PORTAL_MODE": "test", "OUTBOX_IN_PROCESS_WORKER": "1",
                "DATABASE_URL": live_app.config["SQLALCHEMY_DATABASE_URI"].replace(
                    "postgresql+psycopg://", "postgresql://"),
                "CONSTRUCTOR_URL": sandbox.url, "PUBLIC_URL": "http://portal.test",
                "CONSTRUCTOR_JWT_SECRET": BASE_CONFIG["CONSTRUCTOR_JWT_SECRET"],
                "OUTBOX_LEASE_SECONDS": "10"})
    process = subprocess.Popen([GUNICORN, "--config", "gunicorn.conf.py", "--workers", "2",
                                "--bind", f"127.0.0.1:{_free_port()}", "wsgi:app"], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and job_of(attempt).state != "done":
            assert process.poll() is None, process.communicate()
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert job_of(attempt).result_message == "finished", err
    assert err.count("outbox worker thread started") == 2, err  # one per gunicorn worker
    assert [c["outcome"] for c in sandbox.calls(attempt.identifier)] == ["finished"]


def test_create_app_starts_no_thread():
    before = {t.ident for t in threading.enumerate()}
    create_app({**BASE_CONFIG, "OUTBOX_IN_PROCESS_WORKER": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert {t.ident for t in threading.enumerate()} == before

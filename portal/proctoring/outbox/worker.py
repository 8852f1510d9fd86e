"""The outbox worker: claim a due job, make its call, record the outcome; repeat.

Run it as `flask --app wsgi outbox work` (any number, on any number of hosts), or as a
thread inside each gunicorn worker (gunicorn.conf.py, OUTBOX_IN_PROCESS_WORKER=1).
Every few minutes it also runs each provider's reconciliation (e.g.
providers/constructor/reconcile.py), and every EXPIRY_SWEEP_SECONDS (default 5) it closes
the attempts whose deadline has passed (`exams.expire_overdue`, its own commit: pages
only show them as expired, they never write). The job kinds and their handlers are the
providers'.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from portal.db_types import isoformat_z, utcnow
from portal.exams import services as exams
from portal.extensions import db
from portal.proctoring import providers
from portal.proctoring.outbox import http, jobs
from portal.proctoring.outbox.outcomes import DONE, FAIL, RETRY, Outcome

log = logging.getLogger("portal.outbox")

ERROR_PAUSE_SECONDS = 5.0


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def check_settings(app: Flask) -> list[str]:
    """Problems that would make the worker misbehave, as sentences (empty: fine)."""
    problems = []
    with app.app_context():
        for provider in providers.all_providers():
            problems += provider.worker_problems()
        connect, read = http.timeout()
    if app.config["OUTBOX_LEASE_SECONDS"] <= connect + read:
        problems.append(f"OUTBOX_LEASE_SECONDS={app.config['OUTBOX_LEASE_SECONDS']} must exceed the "
                        f"HTTP timeouts ({connect:g} s + {read:g} s), or a slow call could be "
                        "claimed and sent again by another worker")
    return problems


class Worker:
    """One sender loop. `stop()` (or SIGTERM in the CLI) lets the current job finish."""

    def __init__(self, app: Flask, name: str | None = None, poll_seconds: float | None = None,
                 reconcile_seconds: float | None = None,
                 sweep_seconds: float | None = None) -> None:
        self.app = app
        self.name = name or default_name()
        config = app.config
        self.poll_seconds = poll_seconds if poll_seconds is not None else float(
            config["OUTBOX_POLL_SECONDS"])
        self.reconcile_seconds = reconcile_seconds if reconcile_seconds is not None else float(
            config["OUTBOX_RECONCILE_SECONDS"])
        self.sweep_seconds = sweep_seconds if sweep_seconds is not None else float(
            config["EXPIRY_SWEEP_SECONDS"])
        self._next_sweep = time.monotonic()
        self.stopping = threading.Event()
        self._next_reconcile = time.monotonic() + min(self.reconcile_seconds, 60.0)

    def stop(self) -> None:
        self.stopping.set()

    # ---- one job ----------------------------------------------------------------------

    def run_once(self) -> tuple[int, Outcome] | None:
        """Claim and process at most one due job. Returns (job id, outcome), or None
        when nothing was due (or this worker lost the claim while sending)."""
        with self.app.app_context():
            try:
                return self._process_one()
            finally:
                db.session.remove()

    def _process_one(self) -> tuple[int, Outcome] | None:
        config = self.app.config
        max_tries = config["OUTBOX_MAX_TRIES"]
        claim = f"{self.name}#{secrets.token_hex(4)}"
        job = jobs.claim_next(claim, config["OUTBOX_LEASE_SECONDS"], max_tries)
        if job is None:
            return None
        handler = providers.job_handler(job.kind)
        if handler is None:
            outcome = Outcome(FAIL, f"no handler for job kind {job.kind!r}")
        else:
            try:
                outcome = handler(job)
            except providers.NotConfigured as error:
                outcome = Outcome(FAIL, str(error))
        now = utcnow()
        where = (f"outbox job {job.id} ({job.kind}) attempt {job.attempt_id} "
                 f"session {job.attempt.identifier}: try {job.tries}/{max_tries}")
        if outcome.status == DONE:
            kept = jobs.mark_done(job, claim, outcome.summary, now)
            log.info("%s -> done: %s", where, outcome.summary)
        elif outcome.status == RETRY and job.tries < max_tries:
            wait = jobs.backoff_seconds(config["OUTBOX_BACKOFF_BASE"], job.tries)
            next_at = now + timedelta(seconds=wait)
            kept = jobs.mark_retry(job, claim, outcome.summary, next_at, now)
            log.warning("%s -> %s; next try at %s (in %.1f s)", where, outcome.summary,
                        isoformat_z(next_at), wait)
        else:
            why = "permanent error" if outcome.status == FAIL else "no tries left"
            kept = jobs.mark_failed(job, claim, outcome.summary, now)
            log.error("%s -> FAILED (%s): %s. Fix the cause, then re-queue it from the "
                      "dashboard or with `flask outbox requeue %s`.", where, why,
                      outcome.summary, job.attempt_id)
        db.session.commit()
        if not kept:
            log.warning("%s: the lease expired while sending; another worker owns the job now "
                        "and this outcome was not recorded", where)
            return None
        return job.id, outcome

    # ---- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        """Loop until stop(): send due jobs back to back, sleep `poll_seconds` when idle,
        reconcile verdicts every `reconcile_seconds`."""
        log.info("outbox worker %s started (poll %.2f s, lease %s s, %s tries, backoff base %s s)",
                 self.name, self.poll_seconds, self.app.config["OUTBOX_LEASE_SECONDS"],
                 self.app.config["OUTBOX_MAX_TRIES"], self.app.config["OUTBOX_BACKOFF_BASE"])
        while not self.stopping.is_set():
            pause = 0.0
            try:
                if self.run_once() is None:
                    pause = self.poll_seconds
                self._maybe_sweep()
                self._maybe_reconcile()
            except SQLAlchemyError as error:
                log.error("outbox worker %s: database error, pausing %.0f s: %s",
                          self.name, ERROR_PAUSE_SECONDS, error)
                pause = ERROR_PAUSE_SECONDS
            except Exception:  # noqa: BLE001 - keep the daemon alive past one job's bug
                # The job's lease expires and its try is already counted, so a job that
                # keeps crashing ends up failed instead of stopping every delivery.
                log.exception("outbox worker %s: unexpected error, pausing %.0f s",
                              self.name, ERROR_PAUSE_SECONDS)
                pause = ERROR_PAUSE_SECONDS
            if pause:
                self.stopping.wait(pause)
        log.info("outbox worker %s stopped", self.name)

    def _maybe_sweep(self) -> None:
        if self.sweep_seconds <= 0 or time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + self.sweep_seconds
        self.sweep()

    def sweep(self) -> int:
        """Close every overdue attempt as expired (graded, `attempt_closed` sent), one
        commit. Returns how many. Several workers may sweep at once: each close is a
        conditional UPDATE, so an attempt closes once."""
        with self.app.app_context():
            try:
                closed = exams.expire_overdue()
                db.session.commit()
            finally:
                db.session.remove()
        if closed:
            log.info("outbox worker %s: %d overdue attempt(s) closed as expired", self.name,
                     closed)
        return closed

    def _maybe_reconcile(self) -> None:
        if self.reconcile_seconds <= 0 or time.monotonic() < self._next_reconcile:
            return
        self._next_reconcile = time.monotonic() + self.reconcile_seconds
        with self.app.app_context():
            try:
                for provider in providers.all_providers():
                    provider.reconcile()
            finally:
                db.session.remove()


# ---- the in-process thread (gunicorn.conf.py) -------------------------------------------

def start_thread(app: Flask) -> tuple[Worker, threading.Thread] | None:
    """Start a daemon worker thread in this process; None (logged) when the settings
    make it unsafe. Call it after the fork (gunicorn's post_worker_init), never in
    create_app."""
    problems = check_settings(app)
    if problems:
        log.error("outbox worker thread not started: %s", "; ".join(problems))
        return None
    worker = Worker(app, name=f"{socket.gethostname()}:{os.getpid()}:thread")
    thread = threading.Thread(target=worker.run, name="outbox-worker", daemon=True)
    thread.start()
    return worker, thread

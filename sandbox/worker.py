"""The background thread: applies timeouts/deadlines and sends due deliveries.

Started lazily by the first request, once per app: the sandbox runs as one process,
so one thread is the only sender (no double sends).
"""
from __future__ import annotations

import logging
import threading

from flask import Flask

from . import outbox, realtime

log = logging.getLogger("sandbox.worker")
TICK_SECONDS = 0.25
_lock = threading.Lock()


def ensure_started(app: Flask) -> None:
    """Start the app's worker thread if it is not running yet (idempotent)."""
    if app.extensions.get("sandbox_worker"):
        return
    with _lock:
        if app.extensions.get("sandbox_worker"):
            return
        stop = threading.Event()
        thread = threading.Thread(target=_run, args=(app, stop), name="sandbox-worker", daemon=True)
        app.extensions["sandbox_worker"] = (thread, stop)
        thread.start()


def stop_worker(app: Flask) -> None:
    """Ask the worker to stop and wait for it (tests and ``serve_sandbox`` shutdown)."""
    entry = app.extensions.pop("sandbox_worker", None)
    if entry:
        thread, stop = entry
        stop.set()
        thread.join(timeout=5)


def run_once(app: Flask) -> None:
    """One tick: session checks (their pages are told), then every due delivery."""
    realtime.check_sessions(app)
    outbox.send_due(app)


def _run(app: Flask, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            run_once(app)
        except Exception:  # noqa: BLE001 - the sender must survive any one bad tick
            log.exception("sandbox worker tick failed")
        stop.wait(TICK_SECONDS)

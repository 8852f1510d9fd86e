"""gunicorn settings read from the repository root (`gunicorn wsgi:app` finds this file).

Production defaults for the portal behind nginx (docs/deployment.md); options given on
the command line win (`make run` and the tests pass their own `--bind`, `--workers`).
Three settings come from the environment, so a systemd unit can change them without
editing this file:

- `PORTAL_BIND`: where to listen (default `127.0.0.1:8000`, loopback: only nginx on
  this host reaches it);
- `WEB_CONCURRENCY`: worker processes (default 2 per CPU core, plus one);
- `GUNICORN_THREADS`: threads per worker (default 1: sync workers).

With OUTBOX_IN_PROCESS_WORKER on (as in `make run`), every gunicorn worker process
starts one outbox worker thread after the fork, so the demo needs no separate
`flask outbox work`. Threads in several processes are safe: jobs are claimed with a
row lease. Never started in create_app: the Flask CLI, tests and `--preload` (which
builds the app before forking) would each get a stray thread.
"""
from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))

# A request that takes longer than this is a stuck worker (the slowest page, a webhook
# waiting on SQLite's 15 s busy timeout, stays under it); the worker is replaced.
timeout = 30
# SIGTERM (systemctl stop/restart): requests under way and the outbox thread's current
# try (its HTTP timeouts are at most ~13 s) finish before the worker exits.
graceful_timeout = 30
# nginx keeps upstream connections open (`keepalive` in deploy/nginx/portal.conf).
keepalive = 5

# The portal decides which forwarded headers to trust, in one place: werkzeug's ProxyFix
# with the PROXY_FIX_* settings (portal/__init__.py). gunicorn's own X-Forwarded-Proto
# handling is switched off so the two can never disagree.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}

# nginx writes the access log (JSON, with the request id); gunicorn logs errors only.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def post_worker_init(worker) -> None:
    """After the app is loaded in this worker process: start the outbox thread if asked."""
    app = worker.wsgi
    if not getattr(app, "config", {}).get("OUTBOX_IN_PROCESS_WORKER"):
        return
    from portal.proctoring.outbox.worker import start_thread

    started = start_thread(app)
    if started is not None:
        worker.outbox_worker, worker.outbox_thread = started
        worker.log.info("outbox worker thread started in gunicorn worker %s", worker.pid)


def worker_exit(server, worker) -> None:
    """Let the outbox thread finish the job under way (bounded by the HTTP timeouts)."""
    outbox_worker = getattr(worker, "outbox_worker", None)
    if outbox_worker is None:
        return
    outbox_worker.stop()
    worker.outbox_thread.join(timeout=15)

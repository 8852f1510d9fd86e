"""gunicorn settings read from the repository root (`gunicorn wsgi:app` finds this file).

Only hooks live here; bind, workers and the rest come from the command line (Makefile).

With OUTBOX_IN_PROCESS_WORKER on (as in `make run`), every gunicorn worker process
starts one outbox worker thread after the fork, so the demo needs no separate
`flask outbox work`. Threads in several processes are safe: jobs are claimed with a
row lease. Never started in create_app: the Flask CLI, tests and `--preload` (which
builds the app before forking) would each get a stray thread.
"""
from __future__ import annotations


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

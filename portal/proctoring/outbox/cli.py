"""`flask outbox ...`: the worker, the queue's state, re-queue."""
from __future__ import annotations

import signal

import click
from flask import current_app
from sqlalchemy import func, select

from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring import providers
from portal.proctoring.outbox import jobs
from portal.proctoring.outbox.models import JOB_STATES, OutboxJob
from portal.proctoring.outbox.worker import Worker, check_settings

outbox_cli = click.Group("outbox", help="The durable queue of calls to proctoring servers.")


@outbox_cli.command("work")
@click.option("--once", is_flag=True, help="Send every job due now, then exit.")
@click.option("--name", help="This worker's name in claims and logs (default host:pid).")
@click.option("--poll", type=float, help="Seconds between looks at an idle queue (default 1).")
def work(once: bool, name: str | None, poll: float | None) -> None:
    """Send queued calls until SIGTERM or Ctrl-C (the job under way is finished first).

    Run as many as you like, on as many hosts: each job is claimed by one worker at a
    time (a lease of OUTBOX_LEASE_SECONDS; a crashed worker's job is taken over after it).
    """
    app = current_app._get_current_object()
    problems = check_settings(app)
    if problems:
        raise click.ClickException("; ".join(problems))
    worker = Worker(app, name=name, poll_seconds=poll)
    if once:
        sent = 0
        while worker.run_once() is not None:
            sent += 1
        click.echo(f"{sent} job(s) processed.")
        return

    def stop(signum: int, frame: object) -> None:
        if worker.stopping.is_set():  # a second signal: do not wait for the call under way
            raise SystemExit(1)
        click.echo(f"{signal.Signals(signum).name}: finishing the current job, then exiting "
                   "(send it again to quit at once; the job is retried after its lease).", err=True)
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run()


@outbox_cli.command("status")
def status() -> None:
    """Jobs by state, and every failed job with its last error."""
    counts = dict(db.session.execute(
        select(OutboxJob.state, func.count()).group_by(OutboxJob.state)).all())
    click.echo(", ".join(f"{state}: {counts.get(state, 0)}" for state in JOB_STATES))
    for job in jobs.failed_jobs():
        click.echo(f"FAILED job {job.id} {job.kind} attempt {job.attempt_id} session "
                   f"{job.attempt.identifier} after {job.tries} tries: {job.last_error}")


@outbox_cli.command("requeue")
@click.argument("attempt_id", type=int)
def requeue(attempt_id: int) -> None:
    """Try a failed finish call again (fresh tries), as the dashboard's button does."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise click.ClickException(f"No attempt {attempt_id}.")
    try:
        job = providers.for_vendor(attempt.vendor).requeue(attempt)
    except jobs.JobConflict as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Job {job.id} for attempt {attempt_id} is queued again.")

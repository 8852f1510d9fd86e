"""Reconciliation: status calls for closed Constructor attempts still without news after
the grace period, against the sandbox's status endpoint."""
from __future__ import annotations

from datetime import timedelta

import responses
from sqlalchemy import select

from portal.db_types import utcnow
from portal.extensions import db
from portal.proctoring import ordering, results
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from portal.proctoring.outbox.worker import Worker
from portal.proctoring.providers import constructor
from portal.proctoring.providers.constructor import reconcile
from tests.support.constructor import closed_attempt, running_attempt


def age(attempt, minutes: float) -> None:
    """Pretend the attempt closed `minutes` ago."""
    attempt.closed_at = utcnow() - timedelta(minutes=minutes)
    db.session.commit()


def result_of(attempt) -> ProctoringResult | None:
    db.session.expire_all()
    return db.session.scalar(select(ProctoringResult).where(ProctoringResult.identifier == attempt.identifier))


def status_calls(sandbox, attempt) -> list[str]:
    return [c["outcome"] for c in sandbox.calls(attempt.identifier, kind="status")]


def test_a_finished_session_without_a_review_is_recorded_as_stopped(live_app, sandbox):
    attempt = closed_attempt(sandbox)
    sandbox.finish_directly(attempt.identifier)
    age(attempt, 31)
    report = reconcile.run()
    assert report.recorded == {attempt.identifier: "applied"}
    result = result_of(attempt)
    assert result.status == "stopped" and result.started_at is not None
    assert result.details["vendorStatus"] == "finished"
    logged = db.session.scalar(select(WebhookDelivery))
    assert logged.headers["Key-Used"] == "status call" and '"finished"' in logged.body
    # The start's confirmation (exams released the questions), then the reconciliation.
    assert status_calls(sandbox, attempt) == ["started", "finished"]
    # Known now: not asked again.
    assert reconcile.run().asked == 0


def test_within_the_grace_period_nobody_is_asked(live_app, sandbox):
    attempt = closed_attempt(sandbox)
    age(attempt, 29)
    running_attempt(sandbox)  # open attempts are never asked about
    asked_at_start = len(sandbox.calls(kind="status"))  # each start's confirmation
    assert reconcile.run().asked == 0
    assert len(sandbox.calls(kind="status")) == asked_at_start


def test_attempts_with_a_result_are_left_alone_unless_it_is_started(live_app, sandbox):
    stopped, started = closed_attempt(sandbox), closed_attempt(sandbox)
    for attempt, status in ((stopped, "stopped"), (started, "started")):
        results.record_and_apply(results.RawDelivery("constructor", None, {}, "{}"),
                                 ordering.ResultUpdate(identifier=attempt.identifier, status=status))
        age(attempt, 60)
    report = reconcile.run()
    assert set(report.recorded) == {started.identifier}
    # The vendor still says started (the finish call never arrived): logged; it adds
    # nothing the stored result lacks, and it is asked again on the next run.
    logged = db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.identifier == started.identifier, WebhookDelivery.body.contains('"started"')))
    assert logged is not None and logged.headers["Key-Used"] == "status call"
    assert set(reconcile.run().recorded) == {started.identifier}


def test_a_session_the_vendor_never_saw_is_recorded_as_skipped(live_app, sandbox):
    attempt = closed_attempt()  # the start form never reached the vendor
    age(attempt, 31)
    report = reconcile.run()
    assert report.unknown == [attempt.identifier]
    assert result_of(attempt).status == "skipped"
    assert reconcile.run().asked == 0


def test_a_later_review_wins_over_what_the_status_said(live_app, sandbox, client):
    from tests.support.reviews import post, review

    attempt = closed_attempt(sandbox)
    sandbox.finish_directly(attempt.identifier)
    age(attempt, 31)
    reconcile.run()
    assert post(client, review(attempt.identifier, score=88)).get_json()["outcome"] == "applied"
    result = result_of(attempt)
    assert (result.status, result.score) == ("stopped", 88)


def test_no_answer_is_left_for_the_next_run(live_app):
    attempt = closed_attempt()
    age(attempt, 31)
    live_app.config["CONSTRUCTOR_URL"] = "http://127.0.0.1:9"  # discard port: refused
    report = reconcile.run()
    assert attempt.identifier in report.errors and result_of(attempt) is None


@responses.activate
def test_the_status_call_is_authenticated_and_a_5xx_records_nothing(app):
    attempt = closed_attempt()
    age(attempt, 31)
    url = constructor.session_api_url(attempt.identifier, "status")
    responses.add(responses.GET, url, status=502, body="bad gateway")
    report = reconcile.run()
    assert report.errors[attempt.identifier].startswith("HTTP 502")
    assert responses.calls[0].request.headers["Authorization"].startswith("JWT ")
    assert result_of(attempt) is None


def test_the_cli_command(live_app, sandbox, runner):
    attempt = closed_attempt(sandbox)
    sandbox.finish_directly(attempt.identifier)
    age(attempt, 31)
    result = runner.invoke(args=["proctor", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "Asked about 1 session(s): 1 recorded" in result.output
    assert result_of(attempt).status == "stopped"


def test_the_worker_reconciles_periodically(live_app, sandbox):
    attempt = closed_attempt(sandbox)
    sandbox.finish_directly(attempt.identifier)
    age(attempt, 31)
    worker = Worker(live_app, name="periodic", reconcile_seconds=0.01)
    worker._next_reconcile = 0  # due at once
    worker._maybe_reconcile()
    assert result_of(attempt).status == "stopped"

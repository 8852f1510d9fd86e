"""The instructors' re-queue of a failed finish call (form button, CSRF-protected) and the
`flask outbox status|requeue` commands."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.proctoring.outbox import jobs
from portal.proctoring.outbox.models import OutboxJob
from tests.support.app import add_exam
from tests.support.constructor import closed_attempt, job_of, running_attempt


def failed_attempt():
    attempt = closed_attempt()
    job = jobs.claim_next("w#1", 30, 5)
    jobs.mark_failed(job, "w#1", "HTTP 404 NOT FOUND: session not found")
    db.session.commit()
    return attempt


def flashed(client) -> str:
    """The flashed messages waiting for the next page, as one text."""
    with client.session_transaction() as session:
        return " ".join(message for _, message in session.pop("_flashes", []))


def url(attempt_id: int) -> str:
    return f"/dashboard/attempts/{attempt_id}/requeue-finish"


@pytest.fixture
def as_instructor(client, auth, instructor):
    auth.login("teacher")
    return client


def test_an_instructor_requeues_a_failed_finish(as_instructor, auth):
    attempt = failed_attempt()
    response = as_instructor.post(url(attempt.id), data={"csrf_token": auth.csrf("/"),
                                                         "next": "/dashboard?flagged=1"})
    assert response.status_code == 303 and response.location == "/dashboard?flagged=1"
    job = job_of(attempt)
    assert (job.state, job.tries, job.claimed_by) == ("pending", 0, None)
    assert "queued again" in flashed(as_instructor)


def test_the_endpoint_name_is_fixed(app):
    from flask import url_for

    with app.test_request_context():
        assert url_for("constructor.requeue_finish", attempt_id=7) == url(7)


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/x", "javascript:alert(1)", ""])
def test_next_must_be_a_local_path(as_instructor, auth, target):
    attempt = failed_attempt()
    response = as_instructor.post(url(attempt.id), data={"csrf_token": auth.csrf("/"), "next": target})
    assert response.location == "/dashboard"


def test_a_pending_or_done_job_is_not_requeued(as_instructor, auth):
    attempt = closed_attempt()  # pending
    response = as_instructor.post(url(attempt.id), data={"csrf_token": auth.csrf("/")})
    assert response.status_code == 303
    assert "already queued" in flashed(as_instructor)
    job = job_of(attempt)
    jobs.mark_done(jobs.claim_next("w#1", 30, 5), "w#1", "finished")
    db.session.commit()
    as_instructor.post(url(attempt.id), data={"csrf_token": auth.csrf("/")})
    assert job_of(attempt).state == "done" and job.id == job_of(attempt).id


def test_open_and_supervisor_attempts_have_nothing_to_requeue(as_instructor, auth, student):
    open_attempt = running_attempt()
    as_instructor.post(url(open_attempt.id), data={"csrf_token": auth.csrf("/")})
    assert "still open" in flashed(as_instructor)
    from portal.exams import services

    supervised = services.start_or_resume(student, add_exam(vendor="supervisor", slug="sv"))
    services.report_started(supervised)
    services.submit(supervised)
    db.session.commit()
    as_instructor.post(url(supervised.id), data={"csrf_token": auth.csrf("/")})
    assert "not proctored by Constructor" in flashed(as_instructor)
    assert db.session.scalars(select(OutboxJob)).all() == []


def test_a_closed_attempt_without_a_job_gets_one(as_instructor, auth):
    attempt = closed_attempt()
    db.session.delete(job_of(attempt))
    db.session.commit()
    as_instructor.post(url(attempt.id), data={"csrf_token": auth.csrf("/")})
    assert job_of(attempt).state == "pending"


def test_without_the_csrf_token_it_is_refused(as_instructor):
    attempt = failed_attempt()
    response = as_instructor.post(url(attempt.id))
    assert response.status_code == 400
    assert job_of(attempt).state == "failed"


def test_unknown_attempt_is_404(as_instructor, auth):
    assert as_instructor.post(url(999), data={"csrf_token": auth.csrf("/")}).status_code == 404


def test_students_are_forbidden(client, auth, student):
    attempt = failed_attempt()
    auth.login()
    assert client.post(url(attempt.id), data={"csrf_token": auth.csrf("/")}).status_code == 403
    assert job_of(attempt).state == "failed"


def test_anonymous_visitors_go_to_the_login(client):
    attempt = failed_attempt()
    response = client.post(url(attempt.id))
    assert response.status_code in (302, 400)  # CSRF or login first; never a requeue
    assert job_of(attempt).state == "failed"


# ---- the CLI ---------------------------------------------------------------------------------

def test_outbox_status_lists_failed_jobs(runner):
    attempt = failed_attempt()
    closed_attempt()
    result = runner.invoke(args=["outbox", "status"])
    assert result.exit_code == 0
    assert "pending: 1, done: 0, failed: 1" in result.output
    assert f"attempt {attempt.id}" in result.output and "session not found" in result.output


def test_outbox_requeue(runner):
    attempt = failed_attempt()
    result = runner.invoke(args=["outbox", "requeue", str(attempt.id)])
    assert result.exit_code == 0, result.output
    assert job_of(attempt).state == "pending"
    again = runner.invoke(args=["outbox", "requeue", str(attempt.id)])
    assert again.exit_code != 0 and "already queued" in again.output


def test_outbox_work_once(runner, app):
    import responses

    attempt = closed_attempt()
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, f"http://constructor.test/api/v2/integration/simple/portal/sessions/"
                                 f"{attempt.identifier}/finish/", json={"message": "finished"})
        result = runner.invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 job(s) processed." in result.output
    assert job_of(attempt).result_message == "finished"


def test_the_dashboard_button_requeues_and_comes_back(as_instructor):
    import re

    attempt = failed_attempt()
    page = as_instructor.get(f"/dashboard/attempts/{attempt.id}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]*requeue-finish)".*?</form>', page, re.S)
    assert form, "the attempt page shows a re-queue button for a failed finish call"
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0)))
    response = as_instructor.post(form.group(1), data=fields)
    assert response.status_code == 303
    assert response.location == f"/dashboard/attempts/{attempt.id}"
    assert job_of(attempt).state == "pending"
    page = as_instructor.get(response.location).get_data(as_text=True)
    assert "queued again" in page and "Re-queue finish call" not in page

"""Constructor: the questions are released only once the vendor's status API says the
session started (or a review arrived), with one status call per attempt, a wait state
while it does not, and an error a student can act on (contract section 2, "Status")."""
from __future__ import annotations

import pytest
import requests
import responses
from sqlalchemy import select

from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.providers import constructor
from tests.support.constructor import constructor_exam


@pytest.fixture
def student_client(client, auth, student):
    auth.login()
    return client


def created_attempt(client, auth) -> Attempt:
    """Start exam as the student: the start form is served, the attempt created."""
    exam = constructor_exam()
    response = client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    assert response.status_code == 200 and "constructor-start" in response.get_data(as_text=True)
    return db.session.scalar(select(Attempt).where(Attempt.exam_id == exam.id))


def report_started(client, auth, attempt):
    return client.post(f"/api/attempts/{attempt.id}/started", headers=auth.headers())


def fresh(attempt: Attempt) -> Attempt:
    db.session.expire_all()
    return db.session.get(Attempt, attempt.id)


def status_url(attempt: Attempt) -> str:
    return constructor.session_api_url(attempt.identifier, "status")


# ---- against the sandbox's status API ---------------------------------------------------

def test_a_started_session_releases_the_questions_after_one_status_call(
        live_app, sandbox, student_client, auth):
    attempt = created_attempt(student_client, auth)
    sandbox.start(attempt)  # the browser posted the start form: the vendor session runs
    response = report_started(student_client, auth, attempt)
    assert response.status_code == 200, response.json
    attempt = fresh(attempt)
    assert attempt.state == "in_progress"
    assert attempt.vendor_status == "started" and attempt.vendor_started_at is not None
    assert attempt.page_started_at is not None
    # The confirmation is cached: a reload's report and every question fetch ask nobody.
    assert report_started(student_client, auth, attempt).status_code == 200
    for _ in range(3):
        assert student_client.get(f"/api/attempts/{attempt.id}/questions").status_code == 200
    assert [c["outcome"] for c in sandbox.calls(attempt.identifier, kind="status")] == ["started"]


def test_a_session_not_started_yet_means_wait_no_questions(live_app, sandbox, student_client,
                                                            auth):
    attempt = created_attempt(student_client, auth)
    created = sandbox.console("POST", "/constructor/sessions",
                              json={"sessionId": attempt.identifier, "accountId": "portal"})
    assert created.status_code in (200, 201), created.text
    response = report_started(student_client, auth, attempt)
    assert response.status_code == 409
    assert response.json["retry"] is True
    assert "“ready_to_start”, not started" in response.json["error"]
    assert "press Retry" in response.json["error"]
    questions = student_client.get(f"/api/attempts/{attempt.id}/questions")
    assert questions.status_code == 409
    attempt = fresh(attempt)
    assert attempt.state == "created" and attempt.vendor_started_at is None
    assert attempt.vendor_status == "ready_to_start" and attempt.page_started_at is not None

    sandbox.start(attempt)  # the student got through the vendor's checks
    assert report_started(student_client, auth, attempt).status_code == 200
    assert fresh(attempt).state == "in_progress"


def test_a_session_the_vendor_never_saw_is_refused_with_the_way_forward(
        live_app, sandbox, student_client, auth):
    """`curl -X POST .../started` without ever going through the vendor: no questions."""
    attempt = created_attempt(student_client, auth)
    response = report_started(student_client, auth, attempt)
    assert response.status_code == 409 and response.json["retry"] is False
    assert response.json["error"] == (
        "The proctoring service does not know this session. Go back to the exam page and "
        "press Start exam to start it through the proctoring service.")
    assert student_client.get(f"/api/attempts/{attempt.id}/questions").status_code == 409
    attempt = fresh(attempt)
    assert attempt.state == "created" and attempt.vendor_status == "unknown_session"


# ---- faults (responses) ------------------------------------------------------------------

@pytest.mark.parametrize("fault", [
    {"status": 503, "json": {"error": "maintenance"}},
    {"status": 200, "body": "<html>not json</html>"},
    {"status": 200, "json": {"sessionId": "x"}},  # no status
    {"body": requests.ConnectionError("refused")},
    {"body": requests.Timeout("slow")},
])
@responses.activate
def test_an_unreachable_vendor_is_503_with_retry(student_client, auth, fault):
    attempt = created_attempt(student_client, auth)
    responses.add(responses.GET, status_url(attempt), **fault)
    response = report_started(student_client, auth, attempt)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json["retry"] is True
    assert response.json["error"].startswith(
        "The proctoring service could not be reached to confirm that your session started")
    assert response.json["error"].endswith("Wait a moment and press Retry.")
    attempt = fresh(attempt)
    assert attempt.state == "created" and attempt.vendor_started_at is None
    assert attempt.page_started_at is not None  # the page's claim is kept all the same


@responses.activate
def test_the_status_call_is_signed_and_a_finished_session_is_refused(student_client, auth):
    attempt = created_attempt(student_client, auth)
    responses.add(responses.GET, status_url(attempt),
                  json={"sessionId": attempt.identifier, "status": "finished"})
    response = report_started(student_client, auth, attempt)
    assert response.status_code == 409 and response.json["retry"] is False
    assert "“finished”: the test cannot start" in response.json["error"]
    assert responses.calls[0].request.headers["Authorization"].startswith("JWT ")


@responses.activate
def test_a_review_that_arrived_confirms_without_a_status_call(student_client, auth):
    from portal.exams import services

    attempt = created_attempt(student_client, auth)
    services.record_vendor_news(attempt, "started")
    db.session.commit()
    assert report_started(student_client, auth, attempt).status_code == 200
    assert len(responses.calls) == 0  # responses would have refused any call


@responses.activate
def test_supervisor_attempts_make_no_status_call(student_client, auth, exam):
    response = student_client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    attempt_id = int(response.location.rsplit("/", 1)[1])
    assert student_client.post(f"/api/attempts/{attempt_id}/started",
                               headers=auth.headers()).status_code == 200
    assert len(responses.calls) == 0

"""Constructor start: the auto-posting form, the start token, the framed page, and the
finish job enqueued in the transaction that closes the attempt."""
from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
import requests
from sqlalchemy import func, select

from portal import create_app
from portal.db_types import utcnow
from portal.exams import services
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.outbox.models import OutboxJob
from portal.proctoring.providers import constructor
from tests.support.app import BASE_CONFIG, add_exam
from tests.support.constructor import (SECRET, closed_attempt, constructor_exam,
                                       form_action_and_token, job_of, running_attempt)


@pytest.fixture
def logged_in(client, auth, student):
    auth.login()
    return client


def start(client, auth, exam):
    return client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})


def test_start_exam_answers_with_an_auto_posting_form(logged_in, auth):
    exam = constructor_exam(time_limit_minutes=45)
    response = start(logged_in, auth, exam)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    action, token = form_action_and_token(page)
    assert action == "http://constructor.test/integration/simple/portal/start/"
    assert "js/autopost.js" in page and "data-autopost" in page
    assert "<script>" not in page  # CSP: no inline script
    csp = response.headers["Content-Security-Policy"]
    assert "form-action 'self'" in csp and "http://constructor.test" in csp.split("form-action")[1]

    payload = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["exp"]})
    attempt = db.session.scalar(select(Attempt))
    assert payload["sessionId"] == attempt.identifier
    assert payload["sessionUrl"] == f"http://portal.test/attempts/{attempt.id}/framed"
    assert payload["sessionFinishUrl"] == f"http://portal.test/attempts/{attempt.id}/result"
    assert payload["userId"] == attempt.user.public_id
    assert (payload["firstName"], payload["lastName"]) == ("Ada", "Lovelace")
    assert payload["language"] == "en"
    assert (payload["accountId"], payload["accountName"]) == ("portal", "Exam portal")
    assert (payload["examId"], payload["examName"]) == (exam.slug, exam.title)
    assert payload["duration"] == 45 and payload["schedule"] is False
    assert payload["proctoring"] == "online"
    start_date = payload["startDate"]
    end_date = payload["endDate"]
    assert start_date.endswith("Z") and end_date.endswith("Z") and start_date < end_date
    assert time.time() + 500 < payload["exp"] <= time.time() + 601


def test_exam_dates_bound_the_vendor_window(logged_in, auth):
    opens, closes = utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=2)
    exam = constructor_exam(opens_at=opens.isoformat(), closes_at=closes.isoformat())
    _, token = form_action_and_token(start(logged_in, auth, exam).get_data(as_text=True))
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert payload["startDate"] == opens.strftime("%Y-%m-%dT%H:%M:%S.") + f"{opens.microsecond // 1000:03d}Z"
    assert payload["endDate"].startswith(closes.strftime("%Y-%m-%dT%H:%M:%S"))


def test_proctor_vendor_setting_decides_for_exams_naming_none(backend, tmp_path):
    from tests.support.app import make_app

    app = make_app(backend, tmp_path, PROCTOR_VENDOR="constructor")
    with app.app_context():
        from tests.support.app import Auth, add_user

        add_user("student1", display_name="Ada Lovelace")
        exam = add_exam()  # names no vendor
        client = app.test_client()
        auth = Auth(client)
        auth.login()
        response = start(client, auth, exam)
        assert response.status_code == 200 and "constructor-start" in response.get_data(as_text=True)
        assert db.session.scalar(select(Attempt)).vendor == "constructor"
        db.session.remove()
        db.engine.dispose()


def test_resuming_posts_the_same_session_again(logged_in, auth):
    exam = constructor_exam()
    first = form_action_and_token(start(logged_in, auth, exam).get_data(as_text=True))[1]
    time.sleep(1.01)  # a new iat/exp, so a new token
    second = form_action_and_token(start(logged_in, auth, exam).get_data(as_text=True))[1]
    assert first != second
    decode = lambda t: jwt.decode(t, SECRET, algorithms=["HS256"])  # noqa: E731
    assert decode(first)["sessionId"] == decode(second)["sessionId"]


def test_a_closed_attempt_goes_to_its_result(logged_in, auth, student):
    exam = constructor_exam()
    attempt = closed_attempt(user=student, exam=exam)
    response = start(logged_in, auth, exam)
    assert response.status_code == 302
    assert response.location.endswith(f"/attempts/{attempt.id}/result")


def test_without_the_secret_start_is_503_not_a_crash(tmp_path):
    config = {**BASE_CONFIG, "PORTAL_MODE": "production", "CONSTRUCTOR_JWT_SECRET": None,
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}"}
    app = create_app(config)
    with app.app_context():
        db.create_all()
        from tests.support.app import Auth, add_user

        add_user("student1", display_name="Ada Lovelace")
        exam = constructor_exam()
        client = app.test_client()
        auth = Auth(client)
        auth.login()
        response = start(client, auth, exam)
        assert response.status_code == 503
        assert "CONSTRUCTOR_JWT_SECRET" in response.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()


def test_the_sandbox_accepts_the_start_form_and_frames_the_test(live_app, sandbox):
    attempt = running_attempt()
    response = requests.post(constructor.start_url(),
                             data={"token": constructor.start_token(attempt)}, timeout=10)
    assert response.status_code == 200
    assert f'src="http://portal.test/attempts/{attempt.id}/framed"' in response.text
    assert sandbox.session(attempt.identifier)["state"] == "started"


def test_framed_page_may_be_framed_by_the_constructor_origin(logged_in, auth):
    exam = constructor_exam()
    start(logged_in, auth, exam)
    attempt = db.session.scalar(select(Attempt))
    response = logged_in.get(f"/attempts/{attempt.id}/framed")
    assert response.status_code == 200
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    ancestors = response.headers["Content-Security-Policy"].split("frame-ancestors")[1].split(";")[0]
    assert "http://constructor.test" in ancestors
    assert "X-Frame-Options" not in response.headers


# ---- the finish job, enqueued in the closing transaction --------------------------------

def test_submit_enqueues_one_finish_job(app):
    attempt = closed_attempt()
    job = job_of(attempt)
    assert (job.kind, job.state, job.tries) == ("constructor_finish", "pending", 0)
    assert job.payload == {"sessionFinishUrl": f"http://portal.test/attempts/{attempt.id}/result"}
    assert job.next_try_at <= utcnow()


def test_the_job_lives_and_dies_with_the_closing_transaction(app):
    attempt = running_attempt()
    services.submit(attempt)
    db.session.rollback()  # e.g. the request failed after the close
    assert db.session.scalar(select(func.count(OutboxJob.id))) == 0
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).state == "in_progress"


def test_expiry_outside_a_request_enqueues_too(app):
    attempt = running_attempt()
    services.expire_overdue(now=attempt.deadline_at + timedelta(seconds=1))
    db.session.commit()
    assert job_of(attempt).payload == {"sessionFinishUrl": f"http://portal.test/attempts/{attempt.id}/result"}


def test_closing_twice_enqueues_once(app):
    attempt = closed_attempt()
    assert services.terminate(attempt, "again") is False
    constructor.enqueue_finish(attempt)
    db.session.commit()
    assert db.session.scalar(select(func.count(OutboxJob.id))) == 1


def test_supervisor_attempts_enqueue_nothing(app, student):
    exam = add_exam(vendor="supervisor")
    attempt = services.start_or_resume(student, exam)
    services.report_started(attempt)
    services.submit(attempt)
    db.session.commit()
    assert db.session.scalar(select(func.count(OutboxJob.id))) == 0


def test_the_portal_attempt_page_sends_an_open_constructor_attempt_back_to_the_vendor(
        logged_in, auth):
    """The SDK page must never start a Supervisor session for a Constructor attempt."""
    exam = constructor_exam()
    start(logged_in, auth, exam)
    attempt = db.session.scalar(select(Attempt))
    page = logged_in.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert "supervisor.js" not in page
    action, _ = form_action_and_token(page)
    assert action == "http://constructor.test/integration/simple/portal/start/"

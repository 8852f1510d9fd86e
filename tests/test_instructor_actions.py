"""Issue 16 over HTTP: allowances, reopen, review decisions and the history, as an
instructor does them on the dashboard (forms with CSRF), and what reaches the student's
page, the tokens and the outbox. Bad input gets its status and message and changes
nothing. Every test runs on each backend (`app` fixture: SQLite, and PostgreSQL with
TEST_DATABASE_URL)."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.db_types import isoformat_z, utcnow
from portal.exams.models import Allowance, Attempt
from portal.extensions import db
from portal.instructor.models import ReviewDecision, StaffAction
from portal.proctoring import tokens
from portal.proctoring.outbox.models import OutboxJob
from portal.proctoring.providers import constructor
from tests.support.app import BASE_CONFIG, Auth, add_exam, add_user, start_attempt
from tests.support.factories import seed_attempt, seed_result
from tests.support.constructor import closed_attempt

WEBHOOK_KEY = BASE_CONFIG["PROCTOR_WEBHOOK_KEY"]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def fresh(attempt_id: int) -> Attempt:
    db.session.expire_all()
    return db.session.get(Attempt, attempt_id)


class Instructor:
    """An instructor's browser: a second client, logged in, posting the dashboard's forms."""

    def __init__(self, app):
        add_user("teacher", role="instructor")
        self.app = app
        self.client = app.test_client()
        self.auth = Auth(self.client)
        with app.app_context():
            assert self.auth.login("teacher").status_code == 302

    # Each request in an app context of its own: the test's context (and its `g`, where
    # the logged-in user is cached) is the student's client's.
    def post(self, url: str, data: dict | None = None, csrf: bool = True):
        with self.app.app_context():
            form = dict(data or {})
            if csrf:
                form["csrf_token"] = self.auth.csrf("/dashboard/")
            return self.client.post(url, data=form)

    def get(self, url: str) -> str:
        with self.app.app_context():
            response = self.client.get(url)
            assert response.status_code == 200, url
            return response.get_data(as_text=True)

    def export(self) -> str:
        with self.app.app_context():
            return self.client.get("/dashboard/export.csv").get_data().decode("utf-8-sig")


@pytest.fixture
def teacher(app):
    return Instructor(app)


def allow(teacher, exam, student="student1", minutes="15", reason="Documented need"):
    return teacher.post(f"/dashboard/exams/{exam.id}/allowances",
                        {"student": student, "extra_minutes": minutes, "reason": reason})


# ---- allowances --------------------------------------------------------------------------

def test_an_allowance_moves_the_running_deadline_and_reaches_the_page(
        app, client, auth, student, exam, teacher):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    before = fresh(attempt_id).deadline_at
    response = allow(teacher, exam)
    assert response.status_code == 303
    assert response.location.endswith(f"/dashboard/exams/{exam.id}#allowances")
    assert fresh(attempt_id).deadline_at == before + timedelta(minutes=15)
    # The page learns it from its next answer save or metrics post (no new poll).
    saved = client.put(f"/api/attempts/{attempt_id}/answers/{exam.questions[0].id}",
                       json={"value": 1}, headers=headers)
    assert saved.status_code == 200
    assert saved.json["deadline"] == (before + timedelta(minutes=15)).isoformat()
    assert "now" in saved.json
    metrics = client.post(f"/api/attempts/{attempt_id}/metrics", headers=headers,
                          json={"samples": [{"score": 90, "threshold": 50, "violated": False,
                                             "metrics": {}}]})
    assert metrics.status_code == 200, metrics.json
    assert metrics.json["deadline"] == saved.json["deadline"]
    page = teacher.get(f"/dashboard/exams/{exam.id}")
    assert "Allowances" in page and "Documented need" in page and "student1" in page
    log = db.session.scalars(select(StaffAction)).all()
    assert [(a.kind, a.actor_name, a.attempt_id, a.reason) for a in log] == [
        ("allowance_added", "teacher", attempt_id, "Documented need")]
    history = teacher.get(f"/dashboard/attempts/{attempt_id}")
    assert "Allowance of 15 extra minutes added" in history


def test_the_deadline_never_passes_the_exams_closing_time(app, client, auth, student, teacher):
    closes = utcnow() + timedelta(minutes=40)
    exam = add_exam(closes_at=closes.isoformat())
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    assert allow(teacher, exam, minutes="600").status_code == 303
    assert abs((fresh(attempt_id).deadline_at - closes).total_seconds()) < 1


def test_an_allowance_before_the_start_counts_from_the_start(app, client, auth, student, exam,
                                                            teacher):
    assert allow(teacher, exam, minutes="20").status_code == 303
    assert allow(teacher, exam, minutes="10", reason="More").status_code == 303
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    attempt = fresh(attempt_id)
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=30 + 30)


def test_removing_an_allowance_moves_the_deadline_back(app, client, auth, student, exam, teacher):
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    before = fresh(attempt_id).deadline_at
    allow(teacher, exam, minutes="45")
    allowance_id = db.session.scalar(select(Allowance.id))
    response = teacher.post(f"/dashboard/exams/{exam.id}/allowances/{allowance_id}/remove")
    assert response.status_code == 303
    assert count(Allowance) == 0
    assert fresh(attempt_id).deadline_at == before
    kinds = db.session.scalars(select(StaffAction.kind).order_by(StaffAction.id)).all()
    assert kinds == ["allowance_added", "allowance_removed"]
    gone = teacher.post(f"/dashboard/exams/{exam.id}/allowances/{allowance_id}/remove")
    assert gone.status_code == 404


@pytest.mark.parametrize("form,field,message", [
    ({"extra_minutes": "-5"}, "minutes", "from 1 to 1440"),
    ({"extra_minutes": "0"}, "minutes", "from 1 to 1440"),
    ({"extra_minutes": "1441"}, "minutes", "from 1 to 1440"),
    ({"extra_minutes": "ten"}, "minutes", "whole number"),
    ({"student": "nobody"}, "student", "no student with the username “nobody”"),
    ({"student": "teacher"}, "student", "no student with the username “teacher”"),
    ({"student": ""}, "student", "Enter the student"),
    ({"reason": "   "}, "reason", "A reason is required"),
])
def test_bad_allowances_are_refused_next_to_their_field_and_change_nothing(
        app, client, auth, student, exam, teacher, form, field, message):
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    before = fresh(attempt_id).deadline_at
    data = {"student": "student1", "extra_minutes": "15", "reason": "Need", **form}
    response = teacher.post(f"/dashboard/exams/{exam.id}/allowances", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(r'<small id="allowance-([a-z_]+)-error"[^>]*>([^<]*)</small>', page)
    assert error and field in error.group(1) and message in error.group(2)
    assert 'aria-invalid="true"' in page
    assert "<h1>Sample exam</h1>" in page  # the page itself, re-rendered with the form
    assert count(Allowance) == 0 and count(StaffAction) == 0
    assert fresh(attempt_id).deadline_at == before


def test_allowances_on_an_unknown_exam_are_404(app, teacher):
    response = teacher.post("/dashboard/exams/999/allowances",
                            {"student": "x", "extra_minutes": "5", "reason": "r"})
    assert response.status_code == 404


def test_tokens_issued_after_an_allowance_carry_the_longer_session(app, student, teacher):
    exam = add_exam(slug="cx", vendor="constructor", time_limit_minutes=30)
    attempt = seed_attempt(exam, student, state="created")
    allow(teacher, exam, minutes="25")
    with app.test_request_context():
        claims = tokens.decode(constructor.start_token(fresh(attempt.id)),
                               app.config["CONSTRUCTOR_JWT_SECRET"])
    assert claims["duration"] == 55


def test_supervisor_tokens_issued_after_an_allowance_carry_the_moved_deadline(
        app, client, auth, student, exam, teacher):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    before = fresh(attempt_id).deadline_at
    allow(teacher, exam, minutes="20")
    token = client.post(f"/api/attempts/{attempt_id}/token", headers=headers).json["token"]
    claims = tokens.decode(token, app.config["PROCTOR_JWT_SECRET"])
    assert claims["deadline"] == isoformat_z(before + timedelta(minutes=20))


def test_a_stop_at_the_moved_deadline_is_the_time_limit(app, client, auth, student, exam, teacher):
    """The proctoring server may stop the session at the token's deadline as the page's
    timer ends it: past the deadline, the page's stop report expires the attempt."""
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    allow(teacher, exam, minutes="20")
    attempt = fresh(attempt_id)
    attempt.deadline_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.post(f"/api/attempts/{attempt_id}/stopped", headers=headers).status_code == 200
    assert fresh(attempt_id).state == "expired"


# ---- reopen ---------------------------------------------------------------------------

def submitted_attempt(client, auth, exam) -> int:
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    client.put(f"/api/attempts/{attempt_id}/answers/{exam.questions[0].id}",
               json={"value": 1}, headers=headers)
    assert client.post(f"/api/attempts/{attempt_id}/submit", headers=headers).status_code == 200
    return attempt_id


def test_reopen_gives_the_student_a_new_attempt_and_keeps_the_old(
        app, client, auth, student, exam, teacher):
    old_id = submitted_attempt(client, auth, exam)
    old = fresh(old_id)
    old_identifier, old_score = old.identifier, old.score
    response = teacher.post(f"/dashboard/attempts/{old_id}/reopen",
                            {"reason": "Session ended by mistake"})
    assert response.status_code == 303
    new = db.session.scalar(select(Attempt).where(Attempt.reopened_from_id == old_id))
    assert response.location.endswith(f"/dashboard/attempts/{new.id}")
    assert new.state == "created" and new.identifier != old_identifier
    old = fresh(old_id)
    assert old.superseded_at is not None and old.state == "submitted"
    assert old.score == old_score and len(old.answers) == 1  # kept, read-only
    # Linked both ways on the dashboard, with the reason in both histories.
    new_page = teacher.get(f"/dashboard/attempts/{new.id}")
    assert f'href="/dashboard/attempts/{old_id}"' in new_page and "Reopened from" in new_page
    old_page = teacher.get(f"/dashboard/attempts/{old_id}")
    assert f'href="/dashboard/attempts/{new.id}"' in old_page
    assert "Session ended by mistake" in old_page and "Session ended by mistake" in new_page
    assert "Reopen attempt" not in old_page  # reopened once; the new one is current
    # The student takes the new attempt: the exam page and Start lead to it.
    assert client.post(f"/exams/{exam.id}/start",
                       data={"csrf_token": auth.csrf("/")}).location.endswith(
        f"/attempts/{new.id}")
    headers = auth.headers()
    assert client.post(f"/api/attempts/{new.id}/started", headers=headers).status_code == 200
    assert client.put(f"/api/attempts/{new.id}/answers/{exam.questions[0].id}",
                      json={"value": 0}, headers=headers).status_code == 200
    # The old attempt accepts nothing.
    assert client.put(f"/api/attempts/{old_id}/answers/{exam.questions[0].id}",
                      json={"value": 0}, headers=headers).status_code == 409
    assert client.post(f"/api/attempts/{old_id}/token", headers=headers).status_code == 409


def test_a_terminated_attempt_is_never_reopened_by_the_student(app, client, auth, student,
                                                               exam):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    assert client.post(f"/api/attempts/{attempt_id}/stopped", headers=headers).status_code == 200
    again = client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    assert again.location.endswith(f"/attempts/{attempt_id}")
    assert count(Attempt) == 1


@pytest.mark.parametrize("case,status,message", [
    ("no_reason", 400, "A reason is required"),
    ("open", 409, "still open"),
    ("twice", 409, "already reopened"),
    ("exam_closed", 409, "The exam has closed"),
])
def test_bad_reopens_are_refused_and_change_nothing(app, client, auth, student, teacher,
                                                    case, status, message):
    exam = add_exam()
    if case == "open":
        auth.login()
        attempt_id, _ = start_attempt(client, auth, exam)
    else:
        attempt_id = submitted_attempt(client, auth, exam)
    if case == "twice":
        assert teacher.post(f"/dashboard/attempts/{attempt_id}/reopen",
                            {"reason": "first"}).status_code == 303
    if case == "exam_closed":
        exam.closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    attempts, actions = count(Attempt), count(StaffAction)
    response = teacher.post(f"/dashboard/attempts/{attempt_id}/reopen",
                            {"reason": "" if case == "no_reason" else "again"})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert 'id="history-heading"' in response.get_data(as_text=True)  # the page re-rendered
    assert (count(Attempt), count(StaffAction)) == (attempts, actions)
    assert teacher.post("/dashboard/attempts/999/reopen", {"reason": "x"}).status_code == 404


def test_reopening_a_constructor_attempt_finishes_the_old_session_through_the_outbox(
        app, teacher):
    old = closed_attempt()
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.attempt_id == old.id))
    job.state, job.tries, job.last_error = "failed", 8, "HTTP 503"
    db.session.commit()
    assert teacher.post(f"/dashboard/attempts/{old.id}/reopen",
                        {"reason": "Vendor fault"}).status_code == 303
    db.session.expire_all()
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.attempt_id == old.id))
    assert (job.kind, job.state, job.tries) == ("constructor_finish", "pending", 0)
    new = db.session.scalar(select(Attempt).where(Attempt.reopened_from_id == old.id))
    assert new.vendor == "constructor" and new.identifier != old.identifier


def test_reopening_a_constructor_attempt_without_a_job_enqueues_one(app, student, teacher):
    exam = add_exam(slug="cx", vendor="constructor")
    old = seed_attempt(exam, student, state="terminated", vendor="constructor")
    assert teacher.post(f"/dashboard/attempts/{old.id}/reopen",
                        {"reason": "Vendor fault"}).status_code == 303
    db.session.expire_all()
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.attempt_id == old.id))
    assert (job.kind, job.state) == ("constructor_finish", "pending")
    assert job.payload["sessionFinishUrl"] == f"http://portal.test/attempts/{old.id}/result"


# ---- review decisions ------------------------------------------------------------------

def webhook(client, identifier: str, status: str, signed: str):
    return client.post("/api/proctoring/webhook", headers={"X-Api-Key": WEBHOOK_KEY}, json={
        "identifier": identifier, "status": status, "signedAt": signed, "score": 40,
        "proctor": "p1", "comment": "looked away"})


def test_a_decision_is_shown_beside_the_verdict_and_survives_later_deliveries(
        app, client, student, exam, teacher):
    attempt = seed_attempt(exam, student, state="submitted")
    assert webhook(client, attempt.identifier, "rejected",
                   "2024-05-01T10:00:00.000Z").status_code == 200
    response = teacher.post(f"/dashboard/attempts/{attempt.id}/decision",
                            {"decision": "accept", "note": "Reviewed the recording: fine"})
    assert response.status_code == 303
    page = teacher.get(f"/dashboard/attempts/{attempt.id}")
    decision = re.search(r'data-testid="decision">(.*?)</dd>', page, re.S).group(1)
    assert "Accept" in decision and "teacher" in decision and "Reviewed the recording" in decision
    assert 'data-testid="verdict-changed"' not in page
    # The vendor re-sends: the verdict follows, the decision stays, the page says so.
    assert webhook(client, attempt.identifier, "accepted",
                   "2024-05-01T11:00:00.000Z").status_code == 200
    db.session.expire_all()
    assert attempt.result.status == "accepted"
    stored = db.session.scalar(select(ReviewDecision))
    assert (stored.decision, stored.note, stored.verdict_status) == (
        "accept", "Reviewed the recording: fine", "rejected")
    page = teacher.get(f"/dashboard/attempts/{attempt.id}")
    assert 'data-testid="verdict-changed"' in page
    assert "it was “rejected” when the decision was made, it is now “accepted”" in page
    history = page[page.index('id="history-heading"'):]
    assert "Delivery “rejected” applied" in history and "Decision: Accept" in history
    assert history.index("Delivery “rejected”") < history.index("Decision: Accept") < \
        history.index("Delivery “accepted”")


def test_the_table_shows_decisions_and_filters_what_needs_review(app, client, exam, teacher):
    decided = seed_attempt(exam, add_user("s1", display_name="Decided One"), state="submitted")
    waiting = seed_attempt(exam, add_user("s2", display_name="Waiting Two"), state="submitted")
    for attempt in (decided, waiting):
        seed_result(attempt, status="rejected", score=20)
    teacher.post(f"/dashboard/attempts/{decided.id}/decision",
                 {"decision": "reject", "note": "Confirmed: phone"})
    table = teacher.get("/dashboard/")
    assert "Reviewed: Reject" in table and "needs review" in table
    needs = teacher.get("/dashboard/?needs_review=1")
    assert "Waiting Two" in needs and "Decided One" not in needs
    flagged = teacher.get("/dashboard/?flagged=1")
    assert "Waiting Two" in flagged and "Decided One" in flagged  # still flagged, reviewed
    rows = {r["student_username"]: r for r in csv.DictReader(io.StringIO(teacher.export()))}
    assert (rows["s1"]["staff_decision"], rows["s1"]["decision_by"],
            rows["s1"]["decision_note"]) == ("reject", "teacher", "Confirmed: phone")
    assert rows["s1"]["decided_at"].endswith("Z")
    assert rows["s2"]["staff_decision"] == ""


@pytest.mark.parametrize("form,state,status,message", [
    ({"decision": "accept"}, "in_progress", 409, "still open"),
    ({"decision": "maybe"}, "submitted", 400, "Choose a decision"),
    ({}, "submitted", 400, "Choose a decision"),
    ({"decision": "accept", "note": "x" * 5001}, "submitted", 400, "too long"),
])
def test_bad_decisions_are_refused_and_change_nothing(app, student, exam, teacher, form, state,
                                                      status, message):
    attempt = seed_attempt(exam, student, state=state, minutes_ago=5)
    response = teacher.post(f"/dashboard/attempts/{attempt.id}/decision", form)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert re.search(r'class="field-error" role="alert">[^<]*' + re.escape(message), page)
    assert count(ReviewDecision) == 0 and count(StaffAction) == 0
    assert teacher.post("/dashboard/attempts/999/decision",
                        {"decision": "accept"}).status_code == 404


# ---- access and CSRF -------------------------------------------------------------------

def action_urls(exam_id: int, attempt_id: int, allowance_id: int) -> list[tuple[str, dict]]:
    return [(f"/dashboard/exams/{exam_id}/allowances",
             {"student": "student1", "extra_minutes": "5", "reason": "r"}),
            (f"/dashboard/exams/{exam_id}/allowances/{allowance_id}/remove", {}),
            (f"/dashboard/attempts/{attempt_id}/reopen", {"reason": "r"}),
            (f"/dashboard/attempts/{attempt_id}/decision", {"decision": "accept"})]


@pytest.fixture
def targets(app, student, exam, teacher):
    attempt = seed_attempt(exam, student, state="submitted")
    allow(teacher, exam, minutes="5")
    return action_urls(exam.id, attempt.id, db.session.scalar(select(Allowance.id)))


def snapshot():
    db.session.expire_all()
    return (count(Attempt), count(Allowance), count(ReviewDecision), count(StaffAction))


def test_only_instructors_act(app, client, auth, student, targets):
    before = snapshot()
    token = auth.csrf("/login")
    for url, data in targets:  # anonymous (with a valid CSRF token): to the login page
        response = client.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 302 and "/login" in response.location, url
    auth.login()
    token = auth.csrf("/")
    for url, data in targets:  # a student: 403
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    assert snapshot() == before


def test_every_action_form_needs_the_csrf_token(app, teacher, targets):
    before = snapshot()
    for url, data in targets:
        response = teacher.post(url, data, csrf=False)
        assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True), url
    assert snapshot() == before


def test_the_pages_forms_carry_the_token(app, student, exam, teacher):
    attempt = seed_attempt(exam, student, state="submitted")
    for page in (teacher.get(f"/dashboard/exams/{exam.id}"),
                 teacher.get(f"/dashboard/attempts/{attempt.id}")):
        forms = re.findall(r'<form method="post".*?</form>', page, re.S)
        assert forms and all('name="csrf_token"' in form for form in forms)


# ---- the history -----------------------------------------------------------------------

def test_the_history_lists_everything_in_order(app, client, auth, student, exam, teacher):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    allow(teacher, exam, minutes="5", reason="Late bus")
    client.post(f"/api/attempts/{attempt_id}/metrics", headers=headers, json={"samples": [
        {"score": 30, "threshold": 50, "violated": True, "peak": "b1", "metrics": {"b1": 70}}]})
    client.post(f"/api/attempts/{attempt_id}/submit", headers=headers)
    identifier = fresh(attempt_id).identifier
    webhook(client, identifier, "stopped", "2024-05-01T10:00:00.000Z")
    webhook(client, identifier, "stopped", "2024-04-01T10:00:00.000Z")  # older: stale
    teacher.post(f"/dashboard/attempts/{attempt_id}/decision", {"decision": "confirm"})
    page = teacher.get(f"/dashboard/attempts/{attempt_id}")
    history = page[page.index('id="history-heading"'):]
    expected = ["Attempt created", "Start reported by the page",
                "Questions released", "Allowance of 5 extra minutes added",
                "1 metrics event from the page, 1 violated", "Closed (submitted)",
                "Delivery “stopped” applied", "Delivery “stopped” refused (stale)",
                "Decision: Confirm the proctor"]
    positions = [history.index(text) for text in expected]
    assert positions == sorted(positions)
    assert "Late bus" in history and "teacher" in history and "Submitted by the student." in history

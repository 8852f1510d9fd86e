"""Sessions end on the server: logout and password changes end every copy of a session
cookie (session version), and logins have an idle and an absolute lifetime, checked on
every request from the signed session's timestamps."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from portal.auth.models import User
from portal.auth.sessions import LOGIN_AT, SEEN_AT
from portal.extensions import db
from tests.support.app import Auth, add_user, start_attempt
from tests.support.page_events import SAMPLE

IDLE = 120 * 60  # the defaults: SESSION_IDLE_MINUTES, SESSION_MAX_HOURS
MAX = 12 * 3600


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """A second client (another browser, an attacker) holding a copied cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def rewind(client, seconds: int, *, login: bool = True, seen: bool = True) -> None:
    """As if `seconds` had passed since the login and the last request."""
    with client.session_transaction() as session:
        if login:
            session[LOGIN_AT] -= seconds
        if seen:
            session[SEEN_AT] -= seconds


def flashed(client) -> str:
    with client.session_transaction() as session:
        return " ".join(message for _, message in session.get("_flashes", []))


@pytest.fixture
def logged_in(client, auth, student):
    assert auth.login().status_code == 302
    return client


# ---- the session version -----------------------------------------------------------

def test_a_cookie_copied_before_logout_is_dead_after_it(app, logged_in, auth):
    copied = cookie_of(logged_in)
    assert replay(app, copied).get("/").status_code == 200  # the copy works while logged in
    auth.logout()
    stolen = replay(app, copied)
    response = stolen.get("/")
    assert response.status_code == 302 and response.location.startswith("/login")
    with stolen.session_transaction() as session:  # forgotten, as if never logged in
        assert "_user_id" not in session


def test_logout_ends_the_account_s_other_sessions_too(app, logged_in, auth):
    other = app.test_client()
    with app.app_context():  # its own `g`: the CSRF token of its own session
        assert Auth(other).login().status_code == 302
    auth.logout()
    assert other.get("/").status_code == 302


def test_a_password_change_ends_every_session(app, logged_in, runner):
    result = runner.invoke(args=["users", "password", "student1"],
                           input="new-password\nnew-password\n")
    assert result.exit_code == 0, result.output
    assert "sessions have ended" in result.output
    assert logged_in.get("/").status_code == 302
    with app.app_context():
        assert Auth(app.test_client()).login("student1", "new-password").status_code == 302


def test_the_password_cli_names_an_unknown_user_and_a_short_password(runner, student):
    result = runner.invoke(args=["users", "password", "nobody", "--password", "long-enough"])
    assert result.exit_code == 1 and "No user 'nobody'" in result.output
    result = runner.invoke(args=["users", "password", "student1", "--password", "abc"])
    assert result.exit_code == 1 and "at least 6 characters" in result.output
    assert db.session.scalar(select(User.session_version)) == 1  # nothing changed


def test_a_session_from_before_session_versions_is_logged_out(logged_in, student):
    with logged_in.session_transaction() as session:
        session["_user_id"] = str(student.id)  # the old format: a bare id
    assert logged_in.get("/").status_code == 302


def test_one_query_per_request_loads_and_checks_the_user(app, logged_in):
    statements = []

    def count(conn, cursor, statement, *args):
        if " users" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert logged_in.get("/").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "session_version" in statements[0]


# ---- lifetimes ---------------------------------------------------------------------

def test_an_idle_session_goes_to_the_login_page_saying_why(logged_in):
    rewind(logged_in, IDLE + 1)
    response = logged_in.get("/exams/1")
    assert response.status_code == 302 and response.location == "/login?next=%2Fexams%2F1"
    assert flashed(logged_in) == "Your session expired after 120 minutes without activity. Log in again."
    page = logged_in.get(response.location).get_data(as_text=True)
    assert "120 minutes without activity" in page
    assert logged_in.get("/").status_code == 302  # and stays logged out


def test_an_idle_session_gets_401_json_from_json_endpoints(logged_in, auth, exam):
    attempt_id, headers = start_attempt(logged_in, auth, exam)
    rewind(logged_in, IDLE + 1)
    response = logged_in.put(f"/api/attempts/{attempt_id}/answers/{exam.questions[0].id}",
                             json={"value": 1}, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == ("Your session expired after 120 minutes without "
                                      "activity. Log in again.")


def test_anonymous_json_requests_get_401_json(client, auth, exam):
    response = client.post("/api/attempts/1/token", headers=auth.headers())
    assert response.status_code == 401 and "not logged in" in response.json["error"]


def test_the_absolute_lifetime_ends_even_a_busy_session(logged_in):
    rewind(logged_in, MAX + 1, seen=False)  # active a moment ago, logged in 12 h ago
    response = logged_in.get("/")
    assert response.status_code == 302
    assert flashed(logged_in) == "Your session ended: a login lasts at most 12 hours. Log in again."


@pytest.mark.parametrize("activity", ["answer", "metrics"])
def test_a_student_mid_exam_keeps_the_session_alive(logged_in, auth, exam, activity):
    attempt_id, headers = start_attempt(logged_in, auth, exam)
    rewind(logged_in, 100 * 60)
    if activity == "answer":
        response = logged_in.put(f"/api/attempts/{attempt_id}/answers/{exam.questions[0].id}",
                                 json={"value": 1}, headers=headers)
    else:
        response = logged_in.post(f"/api/attempts/{attempt_id}/metrics",
                                  json={"samples": [SAMPLE]}, headers=headers)
    assert response.status_code == 200
    rewind(logged_in, 100 * 60)  # 200 minutes since the login, 100 since the activity
    assert logged_in.get(f"/attempts/{attempt_id}").status_code == 200


def test_without_activity_the_same_time_logs_out(logged_in):
    rewind(logged_in, 200 * 60)
    assert logged_in.get("/").status_code == 302


def test_the_activity_is_written_at_most_once_a_minute(logged_in):
    assert logged_in.get("/").headers.get("Set-Cookie") is None  # nothing new to say
    rewind(logged_in, 61)
    assert "session=" in logged_in.get("/").headers.get("Set-Cookie")


def test_lifetimes_come_from_the_settings(backend, tmp_path):
    from tests.support.app import make_app

    app = make_app(backend, tmp_path, SESSION_IDLE_MINUTES=5, SESSION_MAX_HOURS=1)
    with app.app_context():
        add_user("student1")
        client = app.test_client()
        Auth(client).login()
        rewind(client, 5 * 60 - 30)
        assert client.get("/").status_code == 200
        rewind(client, 5 * 60 + 1)
        assert client.get("/").status_code == 302
        assert "after 5 minutes without activity" in flashed(client)
        db.session.remove()


def test_the_cookie_signature_outlives_no_login():
    from portal import create_app
    from tests.support.app import BASE_CONFIG

    app = create_app({**BASE_CONFIG, "SESSION_MAX_HOURS": 3})
    assert app.permanent_session_lifetime.total_seconds() == 3 * 3600

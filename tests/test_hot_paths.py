"""The exam-day requests (issue 14): each runs exactly the statements its work needs, and
the logged-in user is a plain row, not an ORM object. A new statement on one of these
paths multiplies by every student's page every few seconds: it must be deliberate."""
import pytest
from flask_login import current_user
from sqlalchemy import event

from portal.auth.sessions import SessionUser
from portal.extensions import db
from tests.support.page_events import SAMPLE


@pytest.fixture
def statements(app):
    """The SQL statements the app's engine runs (PostgreSQL's SET LOCAL not counted:
    it is a setting, not work; pool pings neither)."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith("SET "):
            seen.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


def test_a_metrics_post_runs_five_statements(client, running, statements):
    attempt_id, headers = running
    statements.clear()
    response = client.post(f"/api/attempts/{attempt_id}/metrics",
                           json={"samples": [SAMPLE, SAMPLE]}, headers=headers)
    assert response.status_code == 200
    # the user's session version, the attempt, its conditional touch (the lock), the
    # limit's count, one executemany of the batch
    assert statements == ["SELECT", "SELECT", "UPDATE", "SELECT", "INSERT"]


def test_an_answer_save_runs_five_statements(client, running, exam, statements):
    attempt_id, headers = running
    question = exam.questions[0].id
    statements.clear()
    response = client.put(f"/api/attempts/{attempt_id}/answers/{question}",
                          json={"value": 1}, headers=headers)
    assert response.status_code == 200
    # the user, the attempt, the question, the answer's upsert, the attempt's touch
    assert statements == ["SELECT", "SELECT", "SELECT", "INSERT", "UPDATE"]


def test_a_question_fetch_runs_four_statements(client, running, statements):
    attempt_id, headers = running
    statements.clear()
    response = client.get(f"/api/attempts/{attempt_id}/questions", headers=headers)
    assert response.status_code == 200 and response.json["questions"]
    # the user, the attempt, its saved answers, the exam's questions
    assert statements == ["SELECT"] * 4


def test_the_logged_in_user_is_a_row_not_an_orm_object(app, client, auth, student):
    seen = {}

    @app.get("/_test/whoami")
    def whoami():
        seen["user"] = current_user._get_current_object()
        return ""

    auth.login()
    assert client.get("/_test/whoami").status_code == 200
    user = seen["user"]
    assert isinstance(user, SessionUser)
    assert (user.id, user.username, user.role) == (student.id, student.username, "student")
    assert user.get_id() == student.get_id() and not user.is_instructor
    assert not hasattr(user, "_sa_instance_state")  # nothing of the ORM


def test_a_token_request_runs_two_statements(client, running, statements):
    attempt_id, headers = running
    statements.clear()
    response = client.post(f"/api/attempts/{attempt_id}/token", headers=headers)
    assert response.status_code == 200 and response.json["token"]
    # the user, the attempt with its exam and user (one joined SELECT); no commit writes
    assert statements == ["SELECT", "SELECT"]

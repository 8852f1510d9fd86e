"""Who may see what: anonymous -> login, student on instructor pages -> 403, another
student's attempt -> 404 (never reveal that it exists)."""
import pytest

from tests.support.app import add_user, start_attempt

STUDENT_PAGES = ["/", "/exams/1", "/attempts/1", "/attempts/1/result"]
INSTRUCTOR_PAGES = ["/dashboard/", "/dashboard/export.csv"]


@pytest.mark.parametrize("path", STUDENT_PAGES + INSTRUCTOR_PAGES)
def test_anonymous_is_sent_to_login(client, exam, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


@pytest.mark.parametrize("path", INSTRUCTOR_PAGES)
def test_student_gets_403_on_instructor_pages(client, auth, student, path):
    auth.login()
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("method,path", [
    ("GET", "/attempts/{id}"), ("GET", "/attempts/{id}/result"),
    ("GET", "/api/attempts/{id}/questions"), ("POST", "/api/attempts/{id}/started"),
    ("POST", "/api/attempts/{id}/submit"), ("PUT", "/api/attempts/{id}/answers/1"),
    ("POST", "/api/attempts/{id}/token"), ("POST", "/api/attempts/{id}/stopped"),
    ("POST", "/api/attempts/{id}/metrics"), ("GET", "/attempts/{id}/framed"),
    ("GET", "/attempts/{id}/token-link"),
])
def test_other_students_attempt_is_404(client, auth, student, exam, method, path):
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    auth.logout()
    add_user("intruder")
    auth.login("intruder")
    response = client.open(path.format(id=attempt_id), method=method, json={"value": 1},
                           headers=auth.headers())
    assert response.status_code == 404


def test_instructor_cannot_take_exams(client, auth, instructor, exam):
    auth.login("teacher")
    assert client.get(f"/exams/{exam.id}").status_code == 403


def test_unknown_ids_are_404(client, auth, student):
    auth.login()
    assert client.get("/exams/999").status_code == 404
    response = client.get("/api/attempts/999/questions")
    assert response.status_code == 404 and response.json["error"] == "No attempt 999."

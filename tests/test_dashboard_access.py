"""Who may see the dashboard: instructors only, on every one of its URLs."""
from __future__ import annotations

import pytest

from tests.support.factories import login_instructor, seed_attempt, seed_result


def dashboard_urls(app, attempt_id: int, exam_id: int) -> list[str]:
    """Every GET URL of the dashboard blueprint, found in the URL map (so a view added
    later is covered without editing this test)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("dashboard.") or "GET" not in rule.methods:
            continue
        values = {"attempt_id": attempt_id, "exam_id": exam_id}
        urls.append(rule.build({k: values[k] for k in rule.arguments})[1])
    return sorted(set(urls))


@pytest.fixture
def seeded(app, exam, student):
    attempt = seed_attempt(exam, student)
    seed_result(attempt, status="accepted", score=90)
    return attempt


def test_the_map_has_the_pages(app, seeded, exam):
    urls = dashboard_urls(app, seeded.id, exam.id)
    for expected in ("/dashboard", "/dashboard/export.csv", "/dashboard/rows",
                     f"/dashboard/attempts/{seeded.id}", "/dashboard/exams",
                     f"/dashboard/exams/{exam.id}", "/dashboard/unmatched"):
        assert expected in urls


def test_anonymous_is_sent_to_login(app, client, seeded, exam):
    for url in dashboard_urls(app, seeded.id, exam.id):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith("/login"), url


def test_student_gets_403(app, client, auth, seeded, exam):
    auth.login("student1")
    for url in dashboard_urls(app, seeded.id, exam.id):
        assert client.get(url).status_code == 403, url


def test_instructor_gets_every_page(app, client, auth, instructor, seeded, exam):
    login_instructor(client, auth, instructor)
    for url in dashboard_urls(app, seeded.id, exam.id):
        assert client.get(url).status_code == 200, url


def test_polling_after_logout_redirects_the_whole_page(client):
    """htmx cannot use a login page as a table: it is told to navigate instead."""
    response = client.get("/dashboard/rows?status=accepted", headers={
        "HX-Request": "true", "HX-Current-URL": "http://portal.test/dashboard?status=accepted"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/dashboard?status%3Daccepted"


def test_polling_redirect_ignores_foreign_current_url(client):
    response = client.get("/dashboard/rows", headers={
        "HX-Request": "true", "HX-Current-URL": "https://evil.example/phish"})
    assert response.headers["HX-Redirect"] == "/login?next=/dashboard"


def test_instructor_home_is_the_dashboard(client, auth, instructor):
    login_instructor(client, auth, instructor)
    response = client.get("/")
    assert response.status_code == 302 and response.location == "/dashboard"


def test_unknown_attempt_and_exam_are_404(client, auth, instructor):
    login_instructor(client, auth, instructor)
    assert client.get("/dashboard/attempts/999").status_code == 404
    assert client.get("/dashboard/exams/999").status_code == 404


def test_instructor_login_lands_on_the_dashboard(client, auth, instructor):
    response = auth.login(instructor.username)
    assert response.location == "/"
    assert client.get("/", follow_redirects=True).request.path == "/dashboard"

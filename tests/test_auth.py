import pytest
from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db
from tests.support.app import Auth, make_app


def test_login_page_has_labelled_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="username">Username' in page
    assert '<label for="password">Password' in page
    assert 'value="Log in"' in page


def test_login_and_logout(client, auth, student):
    response = auth.login()
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_passwords_are_hashed(app, student):
    stored = db.session.scalar(select(User.password_hash).where(User.username == "student1"))
    assert "password1" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_same_error_for_wrong_user_and_wrong_password(client, auth, student):
    wrong_password = auth.login("student1", "nope")
    wrong_user = auth.login("nobody", "password1")
    assert wrong_password.status_code == wrong_user.status_code == 401
    assert b"Wrong username or password." in wrong_password.data
    assert wrong_password.data.replace(b"student1", b"") .count(b"Wrong") == \
        wrong_user.data.count(b"Wrong")


def test_logout_is_post_only(client, auth, student):
    auth.login()
    assert client.get("/logout").status_code == 405


@pytest.mark.parametrize("target,expected", [
    ("/exams/1", "/exams/1"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_redirect_is_local_only(client, auth, student, target, expected):
    response = client.post("/login?next=" + target, data={
        "username": "student1", "password": "password1", "csrf_token": auth.csrf()})
    assert response.location == expected


def test_csrf_is_on(backend, tmp_path):
    """The one app in the suite with CSRF checks as in production (they are on everywhere)."""
    app = make_app(backend, tmp_path)
    client = app.test_client()
    response = client.post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 400
    assert b"CSRF" in response.data


def test_csrf_protects_fetch_calls(client, auth, student, exam):
    auth.login()
    response = client.post(f"/exams/{exam.id}/start", data={})
    assert response.status_code == 400
    response = client.post("/api/attempts/1/started", headers={"Accept": "application/json"})
    assert response.status_code == 400 and "CSRF" in response.json["error"]


def test_login_is_rate_limited(backend, tmp_path):
    app = make_app(backend, tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    auth = Auth(client)
    responses = [auth.login("x", "wrong-password") for _ in range(4)]
    assert [r.status_code for r in responses] == [401, 401, 401, 429]
    assert b"Too many requests" in responses[-1].data
    assert client.get("/login").status_code == 200  # only attempts to log in are limited

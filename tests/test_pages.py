"""Health check, error pages (HTML or JSON), security headers."""
import pytest
from sqlalchemy.exc import OperationalError

from portal.extensions import db


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_healthz_503_when_the_database_fails(client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))
    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["status"] == "unavailable"


def test_404_is_html_for_pages_and_json_for_api(client):
    page = client.get("/nowhere")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert b"There is nothing here" in page.data
    api = client.get("/api/nowhere")
    assert api.status_code == 404 and api.json["status"] == 404


def test_405_json_for_api(client):
    response = client.get("/api/proctoring/webhook")
    assert response.status_code == 405 and "does not accept" in response.json["error"]


def test_500_rolls_back_and_answers_json(app, client, auth, student, monkeypatch):
    auth.login()
    from portal.exams import services

    def boom(*args, **kwargs):
        raise RuntimeError("bug")
    monkeypatch.setattr(services, "student_overview", boom)
    page = client.get("/")
    assert page.status_code == 500 and b"Something went wrong" in page.data
    api = client.get("/", headers={"Accept": "application/json"})
    assert api.status_code == 500 and api.json["status"] == 500


def test_security_headers_and_csp_allow_list_the_proctoring_origin(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' http://constructor.test http://proctor.test" in csp
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    # The SDK's socket.io websocket and its blob: face-detection worker (contract §1.6).
    assert directives["connect-src"] == ("'self' http://constructor.test http://proctor.test"
                                         " ws://constructor.test ws://proctor.test")
    assert directives["worker-src"] == "'self' blob:"
    assert "frame-src http://constructor.test http://proctor.test" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_csp_websocket_sources_follow_the_scheme(backend, tmp_path):
    from tests.support.app import make_app
    app = make_app(backend, tmp_path, PROCTOR_URL="https://proctor.example:8443/x",
                   CONSTRUCTOR_URL="https://proctor.example:8443")
    csp = app.test_client().get("/login").headers["Content-Security-Policy"]
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src"))
    # An https:// source does not cover wss://; each origin appears once, path dropped.
    assert connect == "connect-src 'self' https://proctor.example:8443 wss://proctor.example:8443"


def test_login_sets_httponly_session_cookie(client, auth, student):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("secure,expected", [(True, "SameSite=None"), (False, "SameSite=Lax")])
def test_cookie_samesite_none_over_https_for_framed_pages(backend, tmp_path, secure, expected):
    from tests.support.app import make_app, Auth, add_user
    app = make_app(backend, tmp_path, SESSION_COOKIE_SECURE=secure)
    with app.app_context():
        add_user("student1")
    client = app.test_client()
    response = Auth(client).login()
    cookie = response.headers["Set-Cookie"]
    assert expected in cookie and (("Secure" in cookie) == secure)

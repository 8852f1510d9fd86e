"""The console (login, JSON API auth), token links and the protocol page."""
from __future__ import annotations

import re

import pytest

from tests.support.sandbox import CONSOLE, make_token


def _login(client, user="proctor", password="sandbox"):
    return client.post("/login", data={"username": user, "password": password})


def _csrf(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_console_shows_login_form_then_the_console(client):
    page = client.get("/").get_data(as_text=True)
    assert "Log in" in page and 'name="password"' in page
    assert _login(client, password="wrong").status_code == 401
    assert _login(client).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Supervisor sessions" in page and "Fault injection" in page
    assert '{"label": "Face not visible", "metric": "c2", "value": 80}' in page  # the widget's presets


def test_console_password_is_configurable(config):
    from sandbox import create_app
    config["SANDBOX_CONSOLE_PASSWORD"] = "s3cret"
    client = create_app(config).test_client()
    assert _login(client).status_code == 401
    assert _login(client, password="s3cret").status_code == 302


@pytest.mark.parametrize("method, path", [
    ("get", "/console/api/sessions"), ("get", "/console/api/deliveries"),
    ("post", "/console/api/sessions/X/stop"), ("post", "/console/api/faults"),
    ("get", "/console/api/constructor/calls"), ("post", "/console/api/sessions/X/violation"),
])
def test_json_api_requires_credentials(client, method, path):
    assert getattr(client, method)(path).status_code == 401
    assert getattr(client, method)(path, auth=("proctor", "nope")).status_code == 401
    response = getattr(client, method)(path, auth=CONSOLE, json={})
    assert response.status_code in (200, 404)


def test_cookie_writes_need_the_csrf_header(client, open_session):
    session = open_session()
    session.start()
    _login(client)
    assert client.get("/console/api/sessions").status_code == 200
    assert client.post("/console/api/sessions/Attempt0001/stop").status_code == 401
    response = client.post("/console/api/sessions/Attempt0001/stop", headers={"X-CSRF-Token": _csrf(client)})
    assert response.status_code == 200 and response.get_json()["status"] == "stopped"


def test_console_lists_sessions_with_last_metrics(client, open_session):
    session = open_session()
    session.start()
    client.post("/console/api/sessions/Attempt0001/violation", auth=CONSOLE, json={"metric": "c3", "value": 70})
    session.event({})
    listed = client.get("/console/api/sessions", auth=CONSOLE).get_json()
    assert len(listed) == 1
    entry = listed[0]
    assert entry["identifier"] == "Attempt0001" and entry["nickname"] == "Ada Lovelace"
    assert entry["subject"] == "Algebra" and entry["status"] == "started"
    assert entry["score"] == 30 and entry["metrics"]["c3"] == 70 and entry["injected"] == {"c3": 70}
    detail = client.get("/console/api/sessions/Attempt0001", auth=CONSOLE).get_json()
    assert [p["score"] for p in detail["timeline"]] == [30]
    assert client.get("/console/api/sessions/Nope", auth=CONSOLE).status_code == 404


def test_console_violation_validation(client, open_session):
    open_session().start()
    url = "/console/api/sessions/Attempt0001/violation"
    assert client.post(url, auth=CONSOLE, json={"metric": "q9", "value": 5}).status_code == 400
    assert client.post(url, auth=CONSOLE, json={"metric": "c2", "value": "lots"}).status_code == 400


def test_logout_is_post_with_csrf(client):
    _login(client)
    token = _csrf(client)
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={"csrf": token})
    assert "Log in" in client.get("/").get_data(as_text=True)


def test_token_link_student_page_runs_the_sdk_and_draws_no_frame(client):
    """The SDK's start() frames the token's url (tests/sandbox/test_sdk_frame.py), so the
    page itself has no frame and no Finish: the vendor's build would frame the test twice."""
    token = make_token(url="http://portal.test/exam", referrer="http://portal.test/back")
    response = client.get(f"/api/auth/jwt?token={token}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "/sdk/supervisor.js" in html and "http://portal.test/exam" in html  # in the page's data
    assert "<iframe" not in html and "Finish" not in html


def test_token_link_bad_token_is_401_page(client):
    response = client.get(f"/api/auth/jwt?token={make_token(drop=('exp',))}")
    assert response.status_code == 401
    assert "missing required field: exp" in response.get_data(as_text=True)
    assert client.get(f"/api/auth/other?token={make_token()}").status_code == 404


def test_token_link_redirect_only_to_local_paths(client):
    token = make_token()
    response = client.get(f"/api/auth/jwt?token={token}&redirect=/api/report/Attempt0001")
    assert response.status_code == 302 and response.headers["Location"] == "/api/report/Attempt0001"
    response = client.get(f"/api/auth/jwt?token={token}&redirect=//evil.test/x")
    assert response.status_code == 200  # ignored: the frame page instead


def test_proctor_token_logs_into_console_and_opens_protocol(client, open_session):
    open_session()
    proctor = make_token(role="proctor", username="chief", identifier="Attempt0001", drop=("template",))
    response = client.get(f"/api/auth/jwt?token={proctor}")
    assert response.status_code == 302 and response.headers["Location"] == "/api/report/Attempt0001"
    assert "Logged in as <b>chief</b>" in client.get("/").get_data(as_text=True)
    assert client.get("/console/api/sessions").status_code == 200


def test_report_page(client, open_session):
    session = open_session()
    session.start()
    session.event({"c2": 30})
    session.stop()
    client.post("/console/api/sessions/Attempt0001/conclusion", auth=CONSOLE,
                json={"status": "accepted", "comment": "all good"})
    html = client.get("/api/report/Attempt0001").get_data(as_text=True)
    assert "Algebra" in html and "accepted by proctor: all good" in html
    assert "<polyline" in html and "<th>c2</th>" in html and "<td>30</td>" in html
    assert client.get("/api/report/Unknown1").status_code == 404

"""The real SDK's preliminary-steps wizard: the rules page it frames (``room.rules``) and
``POST /api/room/next`` after each step (seen in the vendor's 3.20.5 build)."""
from __future__ import annotations

import logging

from tests.support.sandbox import bearer


def test_the_rules_step_frames_the_sandbox_rules_page(client, open_session):
    room = open_session().fetch().get_json()
    assert room["rules"] == "http://sandbox.test/rules"
    page = client.get("/rules")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Stay alone in the room" in html and 'id="agree"' in html and "rules.js" in html
    # The exam page (another origin) frames it.
    assert page.headers["Content-Security-Policy"] == "frame-ancestors *"
    assert "X-Frame-Options" not in page.headers
    script = client.get("/static/rules.js")
    assert 'postMessage(word, "*")' in script.get_data(as_text=True)
    script.close()


def test_no_rules_page_without_the_rules_step(config):
    from sandbox import create_app
    from tests.support.sandbox import Session, make_token

    app = create_app({**config, "SANDBOX_PRECHECKS": ""})
    client = app.test_client()
    token = client.post("/api/auth/jwt", headers=bearer(make_token())).get_json()["token"]
    assert Session(client, token).fetch().get_json()["rules"] is None
    app.extensions["sandbox_store"].close()


def test_next_step_answers_the_error_and_logs_it(client, open_session, caplog):
    session = open_session()
    url = f"/api/room/next?id={session.id}"
    assert client.post(url, headers=bearer(session.access), json={"error": None}).get_json() == {"error": None}
    with caplog.at_level(logging.WARNING, logger="sandbox.rooms"):
        answer = client.post(url, headers=bearer(session.access), json={"error": "NoVideo"})
    assert answer.status_code == 200 and answer.get_json() == {"error": "NoVideo"}
    assert f"preliminary step of {session.id} failed: NoVideo" in caplog.text


def test_next_step_refuses_bad_bodies_and_other_rooms(client, open_session):
    session = open_session()
    refused = client.post(f"/api/room/next?id={session.id}", headers=bearer(session.access),
                          json={"error": 42})
    assert refused.status_code == 400 and "error" in refused.get_json()["error"]
    other = client.post("/api/room/next?id=SomeoneElse0001", headers=bearer(session.access), json={})
    assert other.status_code == 403
    assert client.post(f"/api/room/next?id={session.id}", json={}).status_code == 401

"""The SDK's session API: resume, start, metrics, stop, second tab, deadlines, CORS."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sandbox import create_app
from tests.sandbox.helpers import CONSOLE, bearer, make_token


def _iso(delta_seconds: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=delta_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_same_username_and_identifier_resume_the_session(open_session):
    first = open_session()
    assert first.post("start").status_code == 200
    second = open_session()
    assert second.id == first.id
    assert second.access != first.access
    assert second.poll().get_json()["session"]["status"] == "started"


def test_other_identifier_is_another_session(open_session):
    assert open_session().id != open_session(identifier="Attempt0002").id


def test_identifier_of_another_username_is_refused(client, open_session):
    open_session()
    response = client.post("/api/auth/jwt", headers=bearer(make_token(username="intruder")))
    assert response.status_code == 409


def test_start_then_metrics_shape(open_session):
    session = open_session()
    started = session.post("start").get_json()["session"]
    assert started["status"] == "started" and started["startedAt"].endswith("Z")
    event = session.post("metrics", {"metrics": {"c2": 10, "c3": 5, "m2": 4}}).get_json()
    assert event["metrics"]["c2"] == 10 and set(event["metrics"]) >= {"b1", "s2", "n2"}
    assert (event["peak"], event["score"], event["threshold"], event["violated"]) == ("c2", 90, 50, False)
    assert event["session"]["status"] == "started"


def test_injected_violation_lowers_score(open_session):
    session = open_session()
    session.post("start")
    assert session.post("violation", {"metric": "c2", "value": 80}).status_code == 200
    event = session.post("metrics", {"metrics": {}}).get_json()
    assert (event["peak"], event["score"], event["violated"]) == ("c2", 20, True)
    session.post("violation", {"clear": True})
    assert session.post("metrics", {"metrics": {}}).get_json()["violated"] is False


def test_score_exactly_at_threshold_is_violated(open_session):
    session = open_session()
    session.post("start")
    assert session.post("metrics", {"metrics": {"m2": 50}}).get_json()["violated"] is True
    assert session.post("metrics", {"metrics": {"m2": 49}}).get_json()["violated"] is False


def test_unknown_violation_code_is_400(open_session):
    session = open_session()
    session.post("start")
    assert session.post("violation", {"metric": "zz", "value": 10}).status_code == 400


def test_metrics_before_start_record_nothing(open_session):
    session = open_session()
    answer = session.post("metrics", {"metrics": {"c2": 90}}).get_json()
    assert "score" not in answer and answer["session"]["status"] == "created"


def test_student_stop_ends_session_and_is_idempotent(open_session):
    session = open_session()
    session.post("start")
    stopped = session.post("stop").get_json()["session"]
    assert stopped["status"] == "stopped" and stopped["stoppedBy"] == "student"
    assert "proctor" not in stopped
    assert session.post("stop").status_code == 200
    assert session.post("start").status_code == 409


def test_proctor_stop_is_visible_to_the_page_with_proctor_name(client, open_session):
    session = open_session()
    session.post("start")
    response = client.post(f"/console/api/sessions/{session.identifier}/stop", auth=CONSOLE)
    assert response.status_code == 200
    polled = session.poll().get_json()["session"]
    assert polled["status"] == "stopped" and polled["proctor"] == "proctor"
    assert client.post(f"/console/api/sessions/{session.identifier}/stop", auth=CONSOLE).status_code == 409


def test_second_tab_supersedes_the_first(open_session):
    first = open_session()
    first.post("start")
    second = open_session()
    assert first.poll().get_json()["superseded"] is True
    assert second.poll().get_json()["superseded"] is False
    refused = first.post("metrics", {"metrics": {}})
    assert refused.status_code == 409 and refused.get_json()["superseded"] is True
    assert second.post("metrics", {"metrics": {}}).status_code == 200


def test_access_token_is_bound_to_its_session(open_session):
    one = open_session()
    other = open_session(identifier="Attempt0002")
    response = one.client.post(f"/api/sessions/{other.id}/start", headers=bearer(one.access))
    assert response.status_code == 403
    response = one.client.post(f"/api/sessions/{other.id}/start", headers=bearer("nope"))
    assert response.status_code == 401


def test_configured_start_error_rejects_start_with_its_name(config):
    config["SANDBOX_START_ERROR"] = "NoVideo"
    client = create_app(config).test_client()
    auth = client.post("/api/auth/jwt", headers=bearer(make_token())).get_json()
    response = client.post(f"/api/sessions/{auth['session']['id']}/start", headers=bearer(auth["token"]))
    assert response.status_code == 422
    assert response.get_json()["name"] == "NoVideo"


def test_past_deadline_skips_an_unstarted_session(open_session):
    session = open_session(deadline=_iso(-5))
    assert session.poll().get_json()["session"]["status"] == "skipped"
    response = session.post("start")
    assert response.status_code == 403
    assert "deadline" in response.get_json()["error"]


def test_deadline_passing_stops_a_started_session(open_session):
    session = open_session(deadline=_iso(0.6))
    session.post("start")
    time.sleep(0.7)
    polled = session.poll().get_json()["session"]
    assert polled["status"] == "stopped" and polled["stoppedBy"] == "deadline"
    assert "proctor" not in polled


def test_timeout_without_heartbeats_stops_the_session(open_session):
    session = open_session(timeout=0.01)  # 0.6 s
    session.post("start")
    time.sleep(0.4)
    session.post("metrics", {"metrics": {}})  # a heartbeat keeps it alive
    time.sleep(0.4)
    assert session.poll().get_json()["session"]["status"] == "started"
    time.sleep(0.5)
    polled = session.poll().get_json()["session"]
    assert polled["status"] == "stopped" and polled["stoppedBy"] == "timeout"


def test_cors_preflight_and_headers(client):
    preflight = client.options("/api/auth/jwt", headers={
        "Origin": "http://portal.test", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://portal.test"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    response = client.post("/api/auth/jwt", headers={**bearer(make_token()), "Origin": "http://portal.test"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://portal.test"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_sdk_script_is_served_as_javascript(client):
    response = client.get("/sdk/supervisor.js", headers={"Origin": "http://portal.test"})
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    body = response.get_data(as_text=True)
    for label in ("class Supervisor", "I agree", "Proctoring rules", "This page was opened elsewhere",
                  "Face not visible", "Second person", "Sandbox: inject violation", "data-supervisor"):
        assert label in body.replace("dataset.supervisor", "data-supervisor")


def test_console_cookie_does_not_collide_with_the_portal(app):
    assert app.config["SESSION_COOKIE_NAME"] != "session"

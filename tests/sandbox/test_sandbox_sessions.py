"""The SDK's REST calls (contract 1.6): resume, start, chat events, stop, second tab,
deadlines, timeouts, CORS, the SDK script. The socket side is in test_sandbox_protocol.py."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from sandbox import create_app
from sandbox.config import ConfigError
from sandbox.supervisor import metrics as metric_rules
from tests.support.sandbox import CONSOLE, bearer, make_token


def _iso(delta_seconds: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=delta_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _console_entry(client) -> dict:
    return client.get("/console/api/sessions/Attempt0001", auth=CONSOLE).get_json()


def test_same_username_and_identifier_resume_the_session(open_session):
    first = open_session()
    started = first.start().get_json()
    second = open_session()
    assert second.id == first.id == "Attempt0001"
    assert second.access != first.access
    assert second.status() == "started"
    resumed = second.start().get_json()
    assert resumed["startedAt"] == started["startedAt"]
    assert resumed["updatedAt"] > started["updatedAt"]  # how the first tab learns of the second


def test_other_identifier_is_another_session(open_session):
    assert open_session().id != open_session(identifier="Attempt0002").id


def test_identifier_of_another_username_is_refused(client, open_session):
    open_session()
    response = client.post("/api/auth/jwt", headers=bearer(make_token(username="intruder")))
    assert response.status_code == 409


def test_room_before_and_after_start(open_session):
    session = open_session(url="http://portal.test/exam", deadline=_iso(3600))
    room = session.fetch().get_json()
    assert room["id"] == "Attempt0001" and room["startedAt"] is None and room["status"] == "created"
    # A token link's room (it has a url) has the finish add-on: the real SDK shows Finish only then.
    assert room["addons"] == ["rules", "check", "track", "preview", "finish"]
    assert room["metrics"] == list(metric_rules.CODES) and room["threshold"] == 50
    assert room["url"] == "http://portal.test/exam" and room["subject"] == "Algebra"
    assert room["deadline"].endswith("Z") and room["injected"] == {}
    started = session.start().get_json()
    assert started["status"] == "started" and started["startedAt"].endswith("Z")
    assert started["updatedAt"] > room["updatedAt"]


def test_room_url_is_null_without_one_in_the_token(open_session):
    room = open_session().fetch().get_json()
    assert room["url"] is None and room["addons"] == ["rules", "check", "track", "preview"]


def test_prechecks_setting_decides_the_addons(config):
    config["SANDBOX_PRECHECKS"] = "equipment"
    client = create_app(config).test_client()
    token = client.post("/api/auth/jwt", headers=bearer(make_token())).get_json()["token"]
    assert client.get("/api/room/fetch", headers=bearer(token)).get_json()["addons"] == [
        "check", "track", "preview"]


def test_chat_event_is_a_sample_merged_with_injected_values(client, open_session):
    session = open_session()
    session.start()
    assert session.violation({"metric": "c2", "value": 80}).get_json() == {"injected": {"c2": 80}}
    assert session.fetch().get_json()["injected"] == {"c2": 80}
    assert session.event({"c2": 10, "m2": 4}).status_code == 200
    entry = _console_entry(client)
    assert entry["score"] == 20 and entry["metrics"]["c2"] == 80 and entry["metrics"]["m2"] == 4
    assert session.violation({"clear": True}).get_json() == {"injected": {}}
    session.event({"m2": 49})
    assert [p["score"] for p in _console_entry(client)["timeline"]] == [20, 51]


def test_score_rule_of_the_sdk():
    assert metric_rules.evaluate({"m2": 50})["violated"] is True
    assert metric_rules.evaluate({"m2": 49})["violated"] is False
    event = metric_rules.evaluate({"c2": 10, "c3": 5})
    assert (event["peak"], event["score"], event["threshold"]) == ("c2", 90, 50)


@pytest.mark.parametrize("body, message", [
    ({"metric": "zz", "value": 10}, "unknown metric code 'zz'"),
    ({"value": 10}, "metric must be a metric code"),
    ({"metric": "c2", "value": "lots"}, "value must be a number"),
])
def test_bad_violation_is_400(open_session, body, message):
    session = open_session()
    response = session.violation(body)
    assert response.status_code == 400 and message in response.get_json()["error"]
    assert session.fetch().get_json()["injected"] == {}


def test_events_before_start_record_nothing(client, open_session):
    session = open_session()
    assert session.event({"c2": 90}).status_code == 200
    assert _console_entry(client)["samples"] == 0


@pytest.mark.parametrize("body, message", [
    ([1, 2], "must be a JSON object"),
    ({"type": "shout"}, "type must be one of"),
    ({"type": "event", "metadata": {"metrics": [1]}}, "needs metadata.metrics"),
    ({"type": "message", "message": 5}, "message must be a string"),
])
def test_bad_chat_posts_are_400_and_store_nothing(client, open_session, body, message):
    session = open_session()
    session.start()
    response = client.post(f"/api/chat/{session.id}", json=body, headers=bearer(session.access))
    assert response.status_code == 400 and message in response.get_json()["error"]
    history = client.get(f"/api/chat/{session.id}", headers=bearer(session.access))
    assert history.get_json() == [] and _console_entry(client)["samples"] == 0


def test_chat_history_is_filtered_and_paged(client, open_session):
    session = open_session()
    session.start()
    headers = bearer(session.access)
    for text in ("one", "two", "three"):
        client.post(f"/api/chat/{session.id}", json={"type": "message", "message": text}, headers=headers)
    session.event({})
    url = f"/api/chat/{session.id}?filter[type]=message&limit=2&skip=1"
    assert [m["message"] for m in client.get(url, headers=headers).get_json()] == ["two", "three"]
    assert len(client.get(f"/api/chat/{session.id}", headers=headers).get_json()) == 4
    assert client.get(f"/api/chat/{session.id}?limit=0", headers=headers).status_code == 400
    assert client.get(f"/api/chat/{session.id}?skip=-1", headers=headers).status_code == 400


def test_student_stop_ends_session_and_is_idempotent(open_session):
    session = open_session()
    session.start()
    stopped = session.stop().get_json()
    assert stopped["status"] == "stopped" and "proctor" not in stopped
    assert session.stop().status_code == 200
    assert session.start().status_code == 409


def test_proctor_stop_is_visible_in_the_room(client, open_session):
    session = open_session()
    session.start()
    response = client.post(f"/console/api/sessions/{session.identifier}/stop", auth=CONSOLE)
    assert response.status_code == 200 and response.get_json()["stoppedBy"] == "proctor"
    assert session.status() == "stopped"
    assert client.post(f"/console/api/sessions/{session.identifier}/stop", auth=CONSOLE).status_code == 409


def test_session_token_is_bound_to_its_room(client, open_session):
    one = open_session()
    other = open_session(identifier="Attempt0002")
    response = client.post(f"/api/room/start?id={other.id}", headers=bearer(one.access))
    assert response.status_code == 403
    assert other.status() == "created"
    response = client.post(f"/api/room/start?id={one.id}", headers=bearer("nope"))
    assert response.status_code == 401 and response.get_json() == {"error": "invalid session token"}
    assert client.post("/api/room/start", headers=bearer(one.access)).status_code == 400


@pytest.mark.parametrize("path", ["/api/auth", "/api/user/me", "/api/room/fetch", "/api/config/sdk",
                                  "/api/chat/Attempt0001"])
def test_every_call_needs_a_session_token(client, open_session, path):
    open_session()
    for headers in ({}, bearer("nope"), bearer(make_token())):  # the portal's JWT is no session token
        response = client.get(path, headers=headers)
        assert response.status_code == 401 and response.get_json() == {"error": "invalid session token"}


def test_user_and_auth_answers(client):
    token = client.post("/api/auth/jwt", headers=bearer(make_token(
        referrer="http://portal.test/attempt/1", group="class-a", lang="de"))).get_json()["token"]
    user = client.get("/api/user/me", headers=bearer(token)).get_json()
    assert user == {"id": "student-1", "nickname": "Ada Lovelace", "lang": "de",
                    "referer": "http://portal.test/attempt/1", "group": "class-a", "face": None,
                    "role": "student", "labels": []}
    assert client.get("/api/auth", headers=bearer(token)).get_json() == {"token": token, **user}


def test_logout_ends_the_session_token_only(client, open_session):
    session = open_session()
    session.start()
    assert client.post("/api/auth/logout", headers=bearer(session.access)).status_code == 200
    assert session.fetch().status_code == 401
    assert open_session().status() == "started"


def test_sdk_config(config):
    config.update(SANDBOX_START_ERROR="NoVideo", SANDBOX_EVENT_PERIOD=2)
    client = create_app(config).test_client()
    token = client.post("/api/auth/jwt", headers=bearer(make_token())).get_json()["token"]
    sdk = client.get("/api/config/sdk", headers=bearer(token)).get_json()
    assert sdk["tracker"] == {"period": 0.5, "eventPeriod": 2.0}
    assert sdk["p2p"] == {"iceServers": []}
    assert {"webcam", "screen", "css", "inject", "iframe"} <= set(sdk)
    assert sdk["sandbox"]["startError"] == "NoVideo"
    assert sdk["sandbox"]["violations"][0] == {"label": "Face not visible", "metric": "c2", "value": 80}
    # The equipment failure is the stand-in SDK's to simulate: the server still starts the room.
    assert client.post("/api/room/start?id=Attempt0001", headers=bearer(token)).status_code == 200


def test_past_deadline_skips_an_unstarted_session(open_session):
    session = open_session(deadline=_iso(-5))
    assert session.status() == "skipped"
    response = session.start()
    assert response.status_code == 403
    assert "deadline" in response.get_json()["error"]


def test_deadline_passing_stops_a_started_session(client, open_session):
    session = open_session(deadline=_iso(0.6))
    session.start()
    time.sleep(0.7)
    assert session.status() == "stopped"
    assert _console_entry(client)["stoppedBy"] == "deadline"


def test_timeout_without_events_stops_the_session(client, open_session):
    session = open_session(timeout=0.01)  # 0.6 s
    session.start()
    time.sleep(0.4)
    session.event({})  # a chat event is activity
    time.sleep(0.4)
    assert session.status() == "started"
    time.sleep(0.5)
    assert session.status() == "stopped"
    assert _console_entry(client)["stoppedBy"] == "timeout"


def test_cors_preflight_and_headers(client):
    for path in ("/api/auth/jwt", "/api/room/start", "/api/chat/Attempt0001", "/api/auth"):
        preflight = client.options(path, headers={
            "Origin": "http://portal.test", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://portal.test"
        assert preflight.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
        assert "Access-Control-Allow-Credentials" not in preflight.headers
    response = client.post("/api/auth/jwt", headers={**bearer(make_token()), "Origin": "http://portal.test"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://portal.test"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_stand_in_sdk_is_one_script_socket_io_client_first(app, client):
    response = client.get("/sdk/supervisor.js", headers={"Origin": "http://portal.test"})
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["ETag"]
    static = app.static_folder
    with open(os.path.join(static, "vendor", "socket.io.min.js"), "rb") as handle:
        client_js = handle.read()
    with open(os.path.join(static, "supervisor.js"), "rb") as handle:
        stand_in = handle.read()
    assert response.get_data() == client_js + b"\n;\n" + stand_in
    again = client.get("/sdk/supervisor.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_sdk_file_setting_serves_that_file(config, tmp_path):
    script = tmp_path / "vendor-supervisor.js"
    script.write_text("window.VendorSDK = 1;\n")
    config["SANDBOX_SDK_FILE"] = str(script)
    response = create_app(config).test_client().get("/sdk/supervisor.js")
    assert response.get_data(as_text=True) == "window.VendorSDK = 1;\n"
    assert response.headers["Cache-Control"] == "no-cache"


def test_missing_sdk_file_is_a_config_error(config, tmp_path):
    config["SANDBOX_SDK_FILE"] = str(tmp_path / "nope.js")
    with pytest.raises(ConfigError, match="SANDBOX_SDK_FILE: no such file"):
        create_app(config)


def test_console_cookie_does_not_collide_with_the_portal(app):
    assert app.config["SESSION_COOKIE_NAME"] != "session"


def test_a_state_file_of_an_older_sandbox_gains_the_new_columns(tmp_path):
    import sqlite3

    from sandbox.store import Store
    path = str(tmp_path / "old.sqlite")
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE sessions (id TEXT PRIMARY KEY, current_access TEXT);"
                      "CREATE TABLE access_tokens (token TEXT PRIMARY KEY, session_id TEXT,"
                      " created_at REAL NOT NULL);")
    old.close()
    store = Store(path)
    try:
        columns = {r["name"] for r in store.query("PRAGMA table_info(sessions)")}
        assert "updated_at" in columns
        assert "revoked_at" in {r["name"] for r in store.query("PRAGMA table_info(access_tokens)")}
    finally:
        store.close()


@pytest.mark.parametrize("name", ["SANDBOX_EVENT_PERIOD", "SANDBOX_HEARTBEAT_PERIOD", "SANDBOX_METRICS_PERIOD"])
def test_periods_must_be_positive_numbers(config, name):
    config[name] = 0
    with pytest.raises(ConfigError, match=f"{name} must be positive"):
        create_app(config)
    config[name] = "soon"
    with pytest.raises(ConfigError, match=f"{name} must be a number"):
        create_app(config)

"""Constructor Proctor: start form, finish/status with JWT, faults, the review sender."""
from __future__ import annotations

import time

import jwt
import pytest
import requests

from sandbox import create_app, worker
from tests.support.sandbox import CONSOLE, CONSTRUCTOR_SECRET

START = "/integration/simple/portal/start/"
API = "/api/v2/integration/simple/portal/sessions"


def start_token(secret: str = CONSTRUCTOR_SECRET, drop: tuple = (), **extra) -> str:
    payload = {"exp": int(time.time()) + 60, "userId": "u7", "email": "u7@example.org",
               "lastName": "Doe", "firstName": "Jane", "accountId": "acc1",
               "accountName": "Portal", "examId": "ex1", "examName": "Algebra", "duration": 60,
               "schedule": False, "proctoring": "online", "startDate": "2026-01-01T10:00:00Z",
               "endDate": "2026-01-01T11:00:00+00:00", "sessionId": "S1",
               "sessionUrl": "http://portal.test/exam/1"}
    payload.update(extra)
    for name in drop:
        payload.pop(name)
    return jwt.encode(payload, secret, algorithm="HS256")


def server_auth(secret: str = CONSTRUCTOR_SECRET, exp_in: int = 30) -> dict[str, str]:
    token = jwt.encode({"exp": int(time.time()) + exp_in}, secret, algorithm="HS256")
    return {"Authorization": f"JWT {token}"}


@pytest.fixture
def review_app(config, receiver):
    config["SANDBOX_REVIEW_URL"] = receiver.url
    return create_app(config)


def test_start_shows_the_proctor_frame(client):
    response = client.post(START, data={"token": start_token()})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Constructor Proctor (sandbox)" in html
    assert '<iframe id="test-frame"' in html and 'src="http://portal.test/exam/1"' in html


# Token arguments, not tokens: a token made at collection time could expire before a
# long suite reaches this test.
@pytest.mark.parametrize("token_args, status, message", [
    ({"exp": -60}, 401, "token expired"),
    ({"secret": "wrong-secret-that-is-long-enough-1234"}, 401, "signature verification failed"),
    ({"drop": ("exp",)}, 401, "missing required field: exp"),
    ({"drop": ("sessionId",)}, 400, "missing required field: sessionId"),
    ({"drop": ("accountId",)}, 400, "missing required field: accountId"),
    ({"proctoring": "remote"}, 400, "proctoring must be online, offline or auto"),
    ({"schedule": "no"}, 400, "schedule must be a boolean"),
    ({"startDate": "2026-01-01 10:00"}, 400, "startDate is not ISO-8601 with an offset or Z"),
    (None, 401, "missing token"),
])
def test_start_errors_name_the_problem(client, token_args, status, message):
    if token_args is None:
        token = ""
    else:
        args = dict(token_args)
        if "exp" in args:
            args["exp"] = int(time.time()) + args["exp"]
        token = start_token(**args)
    response = client.post(START, data={"token": token})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_unknown_integration_is_404(client):
    assert client.post("/integration/simple/other/start/", data={"token": start_token()}).status_code == 404
    assert client.post(f"/api/v2/integration/simple/other/sessions/S1/finish/",
                       headers=server_auth()).status_code == 404


def test_finish_answers_finished_then_not_changed(client):
    client.post(START, data={"token": start_token()})
    first = client.post(f"{API}/S1/finish/", headers=server_auth(),
                        json={"sessionFinishUrl": "http://portal.test/done"})
    assert (first.status_code, first.get_json()) == (200, {"message": "finished"})
    again = client.post(f"{API}/S1/finish/", headers=server_auth())
    assert again.get_json() == {"message": "not_changed"}


def test_finish_of_a_scheduled_session_cancels_it(client):
    response = client.post("/console/api/constructor/sessions", auth=CONSOLE,
                           json={"sessionId": "S9", "accountId": "acc1"})
    assert response.status_code == 201 and response.get_json()["status"] == "ready_to_start"
    assert client.post(f"{API}/S9/finish/", headers=server_auth()).get_json() == {"message": "canceled"}


def test_finish_unknown_session_is_404(client):
    response = client.post(f"{API}/nope/finish/", headers=server_auth())
    assert response.status_code == 404 and "error" in response.get_json()


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer x"},
    server_auth(exp_in=-60),
    server_auth(secret="wrong-secret-that-is-long-enough-1234"),
    {"Authorization": "JWT " + jwt.encode({"sub": "no-exp"}, CONSTRUCTOR_SECRET, algorithm="HS256")},
], ids=["none", "bearer", "expired", "signature", "no-exp"])
def test_finish_and_status_require_a_valid_jwt(client, headers):
    client.post(START, data={"token": start_token()})
    assert client.post(f"{API}/S1/finish/", headers=headers).status_code == 401
    assert client.get(f"{API}/S1/status/", headers=headers).status_code == 401
    assert client.get(f"{API}/S1/status/", headers=server_auth()).get_json()["status"] == "started"


def test_status_reports_the_session(client):
    client.post(START, data={"token": start_token()})
    client.post(f"{API}/S1/finish/", headers=server_auth())
    status = client.get(f"{API}/S1/status/", headers=server_auth()).get_json()
    assert status["accountId"] == "acc1" and status["sessionId"] == "S1"
    assert status["status"] == "finished"
    assert status["sessionStart"].endswith("Z") and status["sessionEnd"].endswith("Z")
    assert client.get(f"{API}/S2/status/", headers=server_auth()).status_code == 404


def test_frame_poll_reports_finish_url(client):
    html = client.post(START, data={"token": start_token()}).get_data(as_text=True)
    state_url = html.split('"state": "')[1].split('"')[0].replace("\\u0026", "&")
    assert client.get(state_url).get_json()["status"] == "started"
    assert client.get(state_url.split("?")[0] + "?key=wrong").status_code == 403
    client.post(f"{API}/S1/finish/", headers=server_auth(),
                json={"sessionFinishUrl": "http://portal.test/done"})
    assert client.get(state_url).get_json() == {"status": "finished", "finishUrl": "http://portal.test/done"}


def test_503_fault_injection_then_success_and_calls_recorded(client):
    assert client.post("/console/api/faults", auth=CONSOLE, json={"finish": "503:2"}).status_code == 200
    client.post(START, data={"token": start_token()})
    codes = [client.post(f"{API}/S1/finish/", headers=server_auth()).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    calls = client.get("/console/api/constructor/calls", auth=CONSOLE).get_json()
    assert [c["outcome"] for c in calls] == ["fault:503", "fault:503", "finished"]
    assert client.get("/console/api/faults", auth=CONSOLE).get_json() == {"finish": []}


def test_faults_from_config_and_bad_spec(config):
    config["SANDBOX_FINISH_FAULTS"] = "502:1"
    client = create_app(config).test_client()
    client.post(START, data={"token": start_token()})
    assert client.post(f"{API}/S1/finish/", headers=server_auth()).status_code == 502
    response = client.post("/console/api/faults", auth=CONSOLE, json={"finish": "boom:1"})
    assert response.status_code == 400


def test_drop_and_delay_faults_over_real_http(config):
    from tests.support.live import serve_sandbox
    base, app, shutdown = serve_sandbox({k: v for k, v in config.items() if k != "TESTING"})
    try:
        requests.post(f"{base}{START}", data={"token": start_token()}, timeout=5)
        requests.post(f"{base}/console/api/faults", auth=CONSOLE, json={"finish": "drop:1,delay:0.6:1"},
                      timeout=5)
        with pytest.raises(requests.ConnectionError):
            requests.post(f"{base}{API}/S1/finish/", headers=server_auth(), timeout=5)
        began = time.monotonic()
        slow = requests.post(f"{base}{API}/S1/finish/", headers=server_auth(), timeout=5)
        assert time.monotonic() - began >= 0.6
        assert slow.json() == {"message": "finished"}
        with pytest.raises(requests.Timeout):  # a client with a short timeout sees the delay as failure
            requests.post(f"{base}/console/api/faults", auth=CONSOLE, json={"finish": "delay:1:1"}, timeout=5)
            requests.post(f"{base}{API}/S1/finish/", headers=server_auth(), timeout=0.3)
        outcomes = [c["outcome"] for c in requests.get(f"{base}/console/api/constructor/calls",
                                                       auth=CONSOLE, timeout=5).json()]
        assert outcomes[:2] == ["fault:drop", "delayed 0.6s, finished"]
    finally:
        shutdown()


def test_review_is_sent_with_a_fresh_jwt_and_again_on_conclusion(review_app, receiver):
    client = review_app.test_client()
    client.post(START, data={"token": start_token()})
    client.post("/console/api/constructor/sessions/S1/warning", auth=CONSOLE, json={"type": "extra_face"})
    client.post(f"{API}/S1/finish/", headers=server_auth())
    worker.run_once(review_app)
    assert receiver.requests == []  # held back ~1 s, as the real service does
    _wait_for(review_app, receiver, 1)
    sent = receiver.requests[0]
    scheme, token = sent["headers"]["Authorization"].split(" ")
    claims = jwt.decode(token, CONSTRUCTOR_SECRET, algorithms=["HS256"], options={"require": ["exp"]})
    assert scheme == "JWT" and claims["exp"] - time.time() <= 31
    body = sent["json"]
    assert body["accountId"] == "acc1" and body["sessionId"] == "S1" and body["conclusion"] is None
    assert body["score"] == 85 and body["threshold"] == {"attention": 70, "rejected": 40}
    assert body["warnings"][0]["type"] == "extra_face"
    assert body["warningTitles"]["extra_face"] == {"en": "Another person in the frame"}
    assert body["archive"].startswith("http://sandbox.test/")
    response = client.post("/console/api/constructor/sessions/S1/conclusion", auth=CONSOLE,
                           json={"conclusion": "accepted", "comment": "fine"})
    assert response.status_code == 200
    _wait_for(review_app, receiver, 2)
    assert receiver.requests[1]["json"]["conclusion"] == "accepted"
    assert receiver.requests[1]["json"]["comment"] == "fine"


def test_review_retries_until_200(review_app, receiver):
    receiver.answers = [500]
    client = review_app.test_client()
    client.post(START, data={"token": start_token()})
    client.post(f"{API}/S1/finish/", headers=server_auth())
    _wait_for(review_app, receiver, 2)
    tokens = [r["headers"]["Authorization"] for r in receiver.requests]
    assert all(t.startswith("JWT ") for t in tokens)
    deliveries = client.get("/console/api/deliveries?kind=review", auth=CONSOLE).get_json()
    assert [a["status"] for a in deliveries[0]["attempts"]] == [500, 200]


def _wait_for(app, receiver, count: int, within: float = 5.0) -> None:
    deadline = time.time() + within
    while len(receiver.requests) < count and time.time() < deadline:
        worker.run_once(app)
        time.sleep(0.05)
    assert len(receiver.requests) == count

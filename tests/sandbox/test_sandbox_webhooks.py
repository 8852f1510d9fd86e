"""Results webhooks: payload, key header, multipart, retries with backoff, conclusions."""
from __future__ import annotations

import json
import time

import pytest

from sandbox import create_app, outbox, worker
from sandbox.supervisor.metrics import CODES
from tests.support.sandbox import CONSOLE, WEBHOOK_KEY, Session, bearer, make_token


def _deliver_all(app, receiver, expected: int, within: float = 5.0) -> None:
    """Run the sender (as the background thread would) until ``expected`` requests arrived."""
    deadline = time.time() + within
    while len(receiver.requests) < expected and time.time() < deadline:
        worker.run_once(app)
        time.sleep(0.02)
    assert len(receiver.requests) == expected


def test_student_stop_sends_the_documented_payload(app, open_session, receiver):
    session = open_session(api=receiver.url)
    session.start()
    session.violation({"metric": "n1", "value": 40})
    session.event({})
    session.violation({"clear": True})
    session.event({})
    session.stop()
    _deliver_all(app, receiver, 1)
    sent = receiver.requests[0]
    assert sent["headers"]["X-Api-Key"] == WEBHOOK_KEY
    assert sent["content_type"] == "application/json"
    body = sent["json"]
    assert body["identifier"] == "Attempt0001" and body["status"] == "stopped"
    assert body["student"] == "student-1" and body["proctor"] is None and body["conclusion"] is None
    assert body["link"] == "http://sandbox.test/api/report/Attempt0001"
    assert body["averages"]["n1"] == 20 and set(body["averages"]) == set(CODES)
    assert body["score"] == 100 and body["duration"] == 0
    for field in ("startedAt", "stoppedAt", "signedAt"):
        assert body[field].endswith("Z") and len(body[field]) == 24
    assert body["signedAt"] == body["stoppedAt"]


def test_no_api_url_means_no_delivery(app, open_session, receiver):
    session = open_session()
    session.start()
    session.stop()
    assert outbox.send_due(app) == 0


def test_failed_deliveries_are_retried_with_backoff_until_200(app, open_session, receiver):
    receiver.answers = [500, 503]
    session = open_session(api=receiver.url)
    session.start()
    session.stop()
    _deliver_all(app, receiver, 3)
    gaps = [b["at"] - a["at"] for a, b in zip(receiver.requests, receiver.requests[1:])]
    assert gaps[0] >= 0.05 * 0.9 and gaps[1] >= 0.1 * 0.9  # base 0.05 s, doubled
    assert [r["body"] for r in receiver.requests[:1]] == [receiver.requests[2]["body"]]
    delivery = app.test_client().get("/console/api/deliveries", auth=CONSOLE).get_json()[0]
    assert delivery["state"] == "delivered"
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 200]
    assert delivery["attempts"][0]["body"] == "try later"
    assert outbox.send_due(app) == 0  # delivered once, never again


def test_unreachable_receiver_records_the_error(app, open_session):
    session = open_session(api="http://127.0.0.1:9/hook")
    session.start()
    session.stop()
    outbox.send_due(app)
    delivery = app.test_client().get("/console/api/deliveries?identifier=Attempt0001",
                                     auth=CONSOLE).get_json()[0]
    assert delivery["state"] == "pending" and delivery["attempts"][0]["status"] is None
    assert "ConnectionError" in delivery["attempts"][0]["error"]


def test_backoff_is_exponential_and_capped():
    assert [outbox.backoff(2, n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert outbox.backoff(2, 12) == 60


def test_proctor_stop_then_conclusion_send_two_deliveries(app, client, open_session, receiver):
    session = open_session(api=receiver.url)
    session.start()
    assert client.post("/console/api/sessions/Attempt0001/stop", auth=CONSOLE).status_code == 200
    response = client.post("/console/api/sessions/Attempt0001/conclusion", auth=CONSOLE,
                           json={"status": "rejected", "comment": "phone on desk"})
    assert response.status_code == 200
    _deliver_all(app, receiver, 2)
    first, second = (r["json"] for r in receiver.requests)
    assert first["status"] == "stopped" and first["proctor"] == "proctor"
    assert second["status"] == "rejected" and second["conclusion"] == "rejected"
    assert second["comment"] == "phone on desk"
    assert second["signedAt"] >= first["signedAt"]
    # A changed conclusion is sent again.
    client.post("/console/api/sessions/Attempt0001/conclusion", auth=CONSOLE,
                json={"status": "accepted", "comment": "cleared on review"})
    _deliver_all(app, receiver, 3)
    assert receiver.requests[2]["json"]["status"] == "accepted"


def test_conclusion_needs_an_ended_session_and_a_valid_status(client, open_session):
    session = open_session()
    session.start()
    url = "/console/api/sessions/Attempt0001/conclusion"
    assert client.post(url, auth=CONSOLE, json={"status": "accepted"}).status_code == 409
    session.stop()
    assert client.post(url, auth=CONSOLE, json={"status": "maybe"}).status_code == 400
    assert client.post("/console/api/sessions/Nope/conclusion", auth=CONSOLE,
                       json={"status": "accepted"}).status_code == 404


def test_deadline_skip_sends_skipped(app, open_session, receiver):
    session = open_session(api=receiver.url, deadline="2000-01-01T00:00:00.000Z")
    assert session.status() == "skipped"
    _deliver_all(app, receiver, 1)
    body = receiver.requests[0]["json"]
    assert body["status"] == "skipped" and body["startedAt"] is None and body["score"] is None


def test_timeout_stop_sends_stopped(app, open_session, receiver):
    session = open_session(api=receiver.url, timeout=0.005)  # 0.3 s
    session.start()
    time.sleep(0.4)
    _deliver_all(app, receiver, 1)
    assert receiver.requests[0]["json"]["status"] == "stopped"
    assert session.status() == "stopped"


@pytest.mark.parametrize("header", ["X-Api-Key", "X-Proctoring-Key"])
def test_multipart_mode_and_configurable_header(config, receiver, header):
    config.update(SANDBOX_WEBHOOK_FORMAT="multipart", SANDBOX_WEBHOOK_HEADER=header)
    app = create_app(config)
    client = app.test_client()
    auth = client.post("/api/auth/jwt", headers=bearer(make_token(api=receiver.url))).get_json()
    session = Session(client, auth["token"])
    session.start()
    session.stop()
    _deliver_all(app, receiver, 1)
    sent = receiver.requests[0]
    assert sent["content_type"] == "multipart/form-data"
    assert sent["headers"][header] == WEBHOOK_KEY
    form = sent["form"]
    assert form["identifier"] == "Attempt0001" and form["status"] == "stopped"
    assert json.loads(form["averages"])["c2"] == 0
    assert "comment" not in form  # nulls are left out of a form


def test_background_thread_delivers_without_help(config, receiver):
    from tests.support.live import serve_sandbox
    import requests
    base, app, shutdown = serve_sandbox({k: v for k, v in config.items() if k not in ("TESTING", "SANDBOX_PUBLIC_URL")})
    try:
        auth = requests.post(f"{base}/api/auth/jwt", headers=bearer(make_token(api=receiver.url)),
                             timeout=5).json()
        headers = bearer(auth["token"])
        requests.post(f"{base}/api/room/start?id=Attempt0001", headers=headers, timeout=5)
        requests.post(f"{base}/api/room/stop?id=Attempt0001", headers=headers, timeout=5)
        deadline = time.time() + 5
        while not receiver.requests and time.time() < deadline:
            time.sleep(0.05)
        assert receiver.requests and receiver.requests[0]["json"]["status"] == "stopped"
        assert receiver.requests[0]["json"]["link"] == f"{base}/api/report/Attempt0001"
    finally:
        shutdown()

"""What the finish call puts on the wire and how each answer is classified, with HTTP
faked at the transport (`responses`): a fresh JWT per try, the body, the URL."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import jwt
import pytest
import requests
import responses

from portal.db_types import utcnow
from portal.proctoring.outbox.worker import Worker
from portal.proctoring.providers import constructor
from tests.support.constructor import SECRET, closed_attempt, job_of

FINISH = "http://constructor.test/api/v2/integration/simple/portal/sessions/{}/finish/"


@pytest.fixture
def fast(app):
    app.config.update(OUTBOX_BACKOFF_BASE=0.01, OUTBOX_MAX_TRIES=4)
    return app


def drain(app, attempt, limit: int = 10) -> None:
    """Run tries back to back (waiting out each backoff) until the job leaves pending."""
    worker = Worker(app, name="wire", reconcile_seconds=0)
    for _ in range(limit):
        job = job_of(attempt)
        if job.state != "pending":
            return
        time.sleep(max(0.0, (job.next_try_at - utcnow()).total_seconds()))
        worker.run_once()


@responses.activate
def test_every_try_carries_a_fresh_token_with_exp_now_plus_30(fast, monkeypatch):
    attempt = closed_attempt()
    url = FINISH.format(attempt.identifier)
    seen: list[tuple[float, str]] = []
    answers = iter([(503, {"error": "busy"}), (503, {"error": "busy"}), (200, {"message": "finished"})])

    def answer(request):
        seen.append((time.time(), request.headers["Authorization"]))
        status, body = next(answers)
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    responses.add_callback(responses.POST, url, callback=answer)
    # A clock 100 s further on at every try: a token made at enqueue time, or reused
    # between tries, would show the same exp.
    base = utcnow()
    clock = iter(base + timedelta(seconds=100 * n) for n in range(1, 10))
    monkeypatch.setattr(constructor, "utcnow", lambda: next(clock))
    drain(fast, attempt)
    assert job_of(attempt).result_message == "finished"
    assert len(seen) == 3
    exps = []
    for _, header in seen:
        scheme, token = header.split(" ")
        assert scheme == "JWT"
        payload = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
        assert set(payload) == {"exp"}
        exps.append(payload["exp"])
    start = int(base.timestamp())
    assert exps == [start + 130, start + 230, start + 330]


@responses.activate
def test_with_the_real_clock_exp_is_30_seconds_after_the_send(fast):
    attempt = closed_attempt()
    seen = []
    responses.add_callback(responses.POST, FINISH.format(attempt.identifier), callback=lambda r: (
        seen.append((time.time(), r.headers["Authorization"].split(" ")[1])) or
        (200, {}, json.dumps({"message": "finished"}))))
    drain(fast, attempt)
    sent_at, token = seen[0]
    exp = jwt.decode(token, SECRET, algorithms=["HS256"])["exp"]
    assert int(sent_at) + 29 <= exp <= int(sent_at) + 30


@responses.activate
def test_the_request_names_the_session_and_the_finish_url(fast):
    attempt = closed_attempt()
    responses.add(responses.POST, FINISH.format(attempt.identifier), json={"message": "finished"})
    drain(fast, attempt)
    request = responses.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "sessionFinishUrl": f"http://portal.test/attempts/{attempt.id}/result"}
    assert request.headers["User-Agent"].startswith("exam-portal/")


@pytest.mark.parametrize("status, body, state, tries, text", [
    (200, {"message": "finished"}, "done", 1, "finished"),
    (200, {"message": "not_changed"}, "done", 1, "not_changed"),
    (200, {"message": "canceled"}, "done", 1, "canceled"),
    (200, "<html>captive portal</html>", "failed", 4, "HTTP 200 without a finish message"),
    (200, {"message": "queued"}, "failed", 4, "HTTP 200 without a finish message"),
    (500, {"error": "boom"}, "failed", 4, "HTTP 500"),
    (502, "bad gateway", "failed", 4, "HTTP 502"),
    (429, {"error": "slow down"}, "failed", 4, "HTTP 429"),  # transient: all tries used
    (400, {"error": "bad body"}, "failed", 1, "HTTP 400"),
    (401, {"error": "token expired"}, "failed", 1, "HTTP 401"),
    (404, {"error": "session not found"}, "failed", 1, "HTTP 404"),
    (302, "", "failed", 1, "HTTP 302"),  # never followed: a POST must not become a GET
])
@responses.activate
def test_answers_are_classified(fast, status, body, state, tries, text):
    attempt = closed_attempt()
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    headers = {"Location": "http://elsewhere.test/"} if status == 302 else None
    responses.add(responses.POST, FINISH.format(attempt.identifier), status=status,
                  headers=headers, **kwargs)
    drain(fast, attempt)
    job = job_of(attempt)
    assert (job.state, job.tries) == (state, tries)
    if state == "done":
        assert job.result_message == text and job.last_error is None
    else:
        assert job.last_error.startswith(text) and job.result_message is None


@pytest.mark.parametrize("error, text", [
    (requests.ConnectTimeout("connect timed out"), "timeout"),
    (requests.ReadTimeout("read timed out"), "timeout"),
    (requests.ConnectionError("Connection refused"), "connection error"),
])
@responses.activate
def test_no_answer_is_retried(fast, error, text):
    attempt = closed_attempt()
    url = FINISH.format(attempt.identifier)
    responses.add(responses.POST, url, body=error)
    responses.add(responses.POST, url, json={"message": "finished"})
    drain(fast, attempt)
    job = job_of(attempt)
    assert (job.state, job.tries, job.result_message) == ("done", 2, "finished")
    assert job.last_error.startswith(text)  # the first try's error stays for the record

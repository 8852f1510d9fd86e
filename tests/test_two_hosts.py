"""Two portal hosts on one PostgreSQL (PostgreSQL leg: TEST_DATABASE_URL).

Two gunicorn processes on their own ports share a fresh, migrated database and a
redis-server for the rate limits; an outbox worker runs beside each; the sandbox
(served live) is the Constructor finish endpoint and counts the calls. Traffic goes to
both hosts at once, and the final state must equal that of one instance: no lost
update, no duplicate finish call, a session valid on either host, one login limit.
"""
from __future__ import annotations

import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import func, select

from portal import create_app
from portal.exams.models import Answer, Attempt
from portal.extensions import db
from portal.proctoring.models import MetricSample, ProctoringResult, WebhookDelivery
from portal.proctoring.outbox.models import OutboxJob
from tests.support.app import BASE_CONFIG, TEST_DATABASE_URL, add_exam, add_user, make_app
from tests.support.gunicorn import SETTINGS, Portal, cli, migrate
from tests.support.pg import fresh_database
from tests.support.redis import RedisServer
from tests.support.constructor import (Sandbox, closed_attempt, constructor_exam,
                                       serve_sandbox_quietly)

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")]

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
KEY = SETTINGS["PROCTOR_WEBHOOK_KEY"]
LOGIN_LIMIT = 20  # per minute and address: every test's logins come from 127.0.0.1


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Hosts A and B (2 workers x 4 threads each) on one fresh database, with Redis for
    the rate limits and the live sandbox as Constructor; `app` is an in-process portal
    on the same database, for seeding and reading."""
    tmp = tmp_path_factory.mktemp("two-hosts")
    with ExitStack() as stack:
        redis = RedisServer()
        stack.callback(redis.stop)
        sandbox_url, sandbox_app, stop_sandbox = serve_sandbox_quietly()
        stack.callback(stop_sandbox)
        url = stack.enter_context(fresh_database(TEST_DATABASE_URL))
        migrate(url)
        settings = {"RATELIMIT_STORAGE_URI": redis.url,
                    "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute",
                    "CONSTRUCTOR_URL": sandbox_url, "OUTBOX_BACKOFF_BASE": "0.05",
                    "OUTBOX_POLL_SECONDS": "0.2", "OUTBOX_LEASE_SECONDS": "10"}
        started = []
        for name in ("a", "b"):
            portal = Portal(url, tmp / f"host-{name}.log", wait=False, **settings)
            stack.callback(portal.stop)
            started.append(portal)
        for portal in started:
            portal.wait_healthy()
        app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url,
                          "CONSTRUCTOR_URL": sandbox_url})
        yield SimpleNamespace(a=started[0], b=started[1], url=url, app=app, settings=settings,
                              sandbox=Sandbox(sandbox_url, sandbox_app), redis=redis)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _login(base: str, username: str, password: str = "password1") -> requests.Session:
    http = requests.Session()
    token = CSRF_META.search(http.get(f"{base}/login", timeout=10).text).group(1)
    answer = http.post(f"{base}/login", data={"username": username, "password": password,
                                              "csrf_token": token},
                       allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return http


def _csrf(http: requests.Session, base: str) -> dict[str, str]:
    page = http.get(f"{base}/", timeout=10)
    assert page.status_code == 200, page.text
    return {"X-CSRFToken": CSRF_META.search(page.text).group(1)}


def _running(username: str, exam) -> int:
    """A student and their running Supervisor attempt (through the services)."""
    from portal.exams import services

    user = add_user(username)
    attempt = services.start_or_resume(user, exam)
    services.report_started(attempt)
    db.session.commit()
    return attempt.id


def test_a_session_from_one_host_is_valid_on_the_other(hosts):
    with hosts.app.app_context():
        exam = add_exam(slug="sessions")
        attempt_id = _running("roaming", exam)
        question = exam.questions[0].id
    http = _login(hosts.a.url, "roaming")
    headers = _csrf(http, hosts.a.url)  # the token of a page served by A
    on_b = http.put(f"{hosts.b.url}/api/attempts/{attempt_id}/answers/{question}",
                    json={"value": 1}, headers=headers, timeout=10)
    assert on_b.status_code == 200, on_b.text
    # State is the database's: submitted through B, A refuses the next save.
    assert http.post(f"{hosts.b.url}/api/attempts/{attempt_id}/submit", headers=headers,
                     timeout=10).status_code == 200
    late = http.put(f"{hosts.a.url}/api/attempts/{attempt_id}/answers/{question}",
                    json={"value": 0}, headers=headers, timeout=10)
    assert late.status_code == 409, late.text


def _deliveries(identifiers: list[str]) -> list[dict]:
    """Every status with moving times for each identifier, shuffled: retries included."""
    rng = random.Random(14)
    bodies = []
    for n, identifier in enumerate(identifiers):
        for k, status in enumerate(("started", "stopped", "accepted", "rejected", "skipped",
                                    "accepted")):
            signed = f"2024-05-01T02:{k:02d}:{n % 60:02d}.000Z" if status in ("accepted",
                                                                               "rejected") else None
            bodies.append({"identifier": identifier, "status": status,
                           "startedAt": "2024-05-01T00:00:00.000Z",
                           "stoppedAt": None if status == "started" else f"2024-05-01T01:{k:02d}:00.000Z",
                           "signedAt": signed, "score": (n * 7 + k) % 101, "threshold": 50,
                           "duration": 30 + k, "proctor": "p", "comment": f"delivery {k}"})
    rng.shuffle(bodies)
    return bodies


def _result_state(app) -> dict[str, tuple]:
    with app.app_context():
        rows = db.session.scalars(select(ProctoringResult)).all()
        state = {r.identifier: (r.status, r.rank, r.score, r.comment, r.signed_at, r.stopped_at)
                 for r in rows}
        db.session.remove()
    return state


def test_deliveries_and_exam_traffic_on_both_hosts_end_as_on_one(hosts, tmp_path):
    with hosts.app.app_context():
        exam = add_exam(slug="busy")
        targets = [_running(f"proctored{n}", exam) for n in range(8)]
        identifiers = [db.session.get(Attempt, a).identifier for a in targets]
        workers = [(f"worker{n}", _running(f"worker{n}", exam)) for n in range(6)]
        questions = [q.id for q in exam.questions]
        before = db.session.scalar(select(func.count(WebhookDelivery.id)))
        db.session.remove()
    bodies = _deliveries(identifiers)
    hosts_cycle = [hosts.a.url, hosts.b.url]

    def deliver(n_body):
        n, body = n_body
        answer = requests.post(f"{hosts_cycle[n % 2]}/api/proctoring/webhook", json=body,
                               headers={"X-Api-Key": KEY}, timeout=30)
        return answer.status_code

    def student(name_attempt):
        """Saves and metrics alternating between the hosts, one request at a time."""
        name, attempt_id = name_attempt
        http = _login(hosts.a.url, name)
        headers = _csrf(http, hosts.b.url)
        sent = {}
        for k in range(12):
            base = hosts_cycle[k % 2]
            # The single-choice and the text question, each saved six times.
            question, value = ((questions[0], (k // 2) % 2) if k % 2 == 0
                               else (questions[2], f"{name} answer {k}"))
            answer = http.put(f"{base}/api/attempts/{attempt_id}/answers/{question}",
                              json={"value": value}, headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text
            sent[question] = answer.json()["value"]
            if k % 4 == 0:
                answer = http.post(f"{base}/api/attempts/{attempt_id}/metrics", headers=headers,
                                   timeout=30, json={"samples": [
                                       {"metrics": {"b1": k}, "peak": "b1", "score": 90,
                                        "threshold": 50, "violated": False}]})
                assert answer.status_code == 200, answer.text
        return attempt_id, sent

    with ThreadPoolExecutor(max_workers=12) as pool:
        # Each delivery twice, once to each host: a sender's retry landing elsewhere.
        codes = pool.map(deliver, enumerate(bodies + bodies))
        finals = list(pool.map(student, workers))
        codes = list(codes)
    assert codes == [200] * len(codes)

    # One instance, one delivery at a time, in another order: the same results.
    reference = make_app("sqlite", tmp_path)
    client = reference.test_client()
    for body in reversed(bodies):
        assert client.post("/api/proctoring/webhook", json=body,
                           headers={"X-Api-Key": BASE_CONFIG["PROCTOR_WEBHOOK_KEY"]}).status_code == 200
    assert _result_state(hosts.app) == _result_state(reference)

    with hosts.app.app_context():
        assert db.session.scalar(select(func.count(WebhookDelivery.id))) - before == len(codes)
        for attempt_id, sent in finals:
            stored = {a.question_id: a.value for a in db.session.scalars(
                select(Answer).where(Answer.attempt_id == attempt_id))}
            assert stored == sent  # the last save of each question, whichever host took it
            assert db.session.scalar(select(func.count(MetricSample.id)).where(
                MetricSample.attempt_id == attempt_id)) == 3
        # A final status closed every proctored attempt, on whichever host it landed.
        states = {db.session.get(Attempt, a).state for a in targets}
        assert states == {"terminated"}, states
        db.session.remove()


def test_one_finish_call_per_attempt_with_a_worker_on_each_host(hosts):
    with hosts.app.app_context():
        exam = constructor_exam()
        attempts = [closed_attempt(hosts.sandbox, exam=exam) for _ in range(10)]
        ids = [a.id for a in attempts]
        identifiers = [a.identifier for a in attempts]
        db.session.remove()
    workers = [cli(hosts.url, "outbox", "work", "--name", f"host-{n}", **hosts.settings)
               for n in ("a", "b")]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with hosts.app.app_context():
                states = db.session.scalars(select(OutboxJob.state).where(
                    OutboxJob.attempt_id.in_(ids))).all()
                db.session.remove()
            if states and all(s == "done" for s in states):
                break
            assert all(w.poll() is None for w in workers), [w.stdout.read() for w in workers]
            time.sleep(0.2)
    finally:
        outputs = []
        for worker in workers:
            worker.terminate()
            outputs.append(worker.communicate(timeout=30)[0])
    assert states == ["done"] * len(ids), outputs
    calls = {i: len(hosts.sandbox.calls(i)) for i in identifiers}
    assert calls == {i: 1 for i in identifiers}, outputs
    # Both ran beside each other, and no job was sent by both.
    assert all(f"outbox worker host-{n} started" in out for n, out in zip("ab", outputs)), outputs
    assert sum(out.count("-> done") for out in outputs) == len(ids), outputs


def test_the_login_limit_is_shared_through_redis(hosts):
    """Failed logins from one address, alternating hosts: the limit counts them all
    (with each process counting on its own, memory://, none of these would be refused)."""
    hosts.redis.flush()  # the other tests' logins counted too
    answers = []
    for n in range(LOGIN_LIMIT + 2):
        base = (hosts.a.url, hosts.b.url)[n % 2]
        http = requests.Session()
        token = CSRF_META.search(http.get(f"{base}/login", timeout=10).text).group(1)
        # A new name each time: only the address's limit applies, not an account's.
        answers.append(http.post(f"{base}/login", timeout=10, data={
            "username": f"nobody{n}", "password": "wrong-password", "csrf_token": token}).status_code)
    assert 429 not in answers[:LOGIN_LIMIT], answers
    assert answers[LOGIN_LIMIT:] == [429, 429], answers

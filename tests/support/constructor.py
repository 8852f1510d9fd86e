"""Shared helpers of the Constructor and outbox tests: the live sandbox (its Constructor
endpoints, fault injection and console API), attempts, jobs, the worker, request JWTs.
The fixtures using them (`sandbox`, `live_app`, `outbox_logs`) are in tests/conftest.py.
"""
from __future__ import annotations

import re
import threading
import time
from datetime import datetime
from typing import Any, Callable

import jwt
import requests
from sqlalchemy import select

from portal.db_types import utcnow
from portal.exams import services
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.outbox.models import OutboxJob
from portal.proctoring.outbox.worker import Worker
from portal.proctoring.providers import constructor
from tests.support.app import BASE_CONFIG, add_exam, add_user

SECRET = BASE_CONFIG["CONSTRUCTOR_JWT_SECRET"]
CONSOLE_AUTH = ("proctor", "sandbox")
BACKOFF_BASE = 0.05


class Sandbox:
    """The live sandbox, seen from a test: its URL and its console API."""

    def __init__(self, url: str, app: Any) -> None:
        self.url = url
        self.app = app

    def console(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = requests.request(method, self.url + "/console/api" + path,
                                    auth=CONSOLE_AUTH, timeout=10, **kwargs)
        assert response.status_code < 500, response.text
        return response

    def faults(self, spec: str) -> None:
        assert self.console("POST", "/faults", json={"finish": spec}).status_code == 200

    def calls(self, session_id: str | None = None, kind: str = "finish") -> list[dict[str, Any]]:
        calls = self.console("GET", "/constructor/calls").json()
        return [c for c in calls if c["kind"] == kind
                and (session_id is None or c["sessionId"] == session_id)]

    def session(self, session_id: str) -> dict[str, Any]:
        return next(s for s in self.console("GET", "/constructor/sessions").json()
                    if s["sessionId"] == session_id)

    def start(self, attempt: Attempt) -> requests.Response:
        """What the student's browser does: form-POST the start token."""
        response = requests.post(constructor.start_url(),
                                 data={"token": constructor.start_token(attempt)}, timeout=10)
        assert response.status_code == 200, response.text
        return response

    def finish_directly(self, session_id: str) -> str:
        """Finish a session as if by someone else (the vendor UI, another LMS call)."""
        response = requests.post(constructor.session_api_url(session_id, "finish"), json={},
                                 headers=constructor.auth_header(), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["message"]


def serve_sandbox_quietly(**settings: Any):
    """The live sandbox with the portal's Constructor secret; its review sender off
    unless a test turns it on."""
    from tests.support.live import serve_sandbox

    config = {"SANDBOX_CONSTRUCTOR_SECRET": SECRET, "SANDBOX_CONSTRUCTOR_INTEGRATION": "portal",
              "SANDBOX_BACKGROUND": False, "SANDBOX_REVIEW_URL": "http://127.0.0.1:9/unused"}
    config.update(settings)
    return serve_sandbox(config)


# ---- attempts -------------------------------------------------------------------------

_counter = iter(range(1, 1_000_000))


def constructor_exam(**overrides: Any):
    n = next(_counter)
    return add_exam(**{"slug": f"cp{n}", "title": f"Constructor exam {n}", "vendor": "constructor",
                       **overrides})


def running_attempt(sandbox: Sandbox | None = None, user=None, exam=None) -> Attempt:
    """A started Constructor attempt (and, given a sandbox, its started vendor session,
    which the portal's status call confirms; without one, the vendor's confirmation is
    seeded as a review would leave it)."""
    user = user or add_user(f"cstudent{next(_counter)}", display_name="Ada Lovelace", lang="en")
    exam = exam or constructor_exam()
    attempt = services.start_or_resume(user, exam)
    db.session.commit()
    if sandbox is not None:
        sandbox.start(attempt)
    else:
        services.record_vendor_news(attempt, "started")
    services.report_started(attempt)
    db.session.commit()
    return attempt


def closed_attempt(sandbox: Sandbox | None = None, **kwargs: Any) -> Attempt:
    """A submitted Constructor attempt: its finish job is pending."""
    attempt = running_attempt(sandbox, **kwargs)
    services.submit(attempt)
    db.session.commit()
    return attempt


def job_of(attempt: Attempt) -> OutboxJob:
    db.session.expire_all()
    return db.session.scalar(select(OutboxJob).where(OutboxJob.attempt_id == attempt.id))


# ---- running workers ------------------------------------------------------------------

def run_until(app, done: Callable[[], bool], timeout: float = 15.0, name: str = "test-worker",
              poll: float = 0.01) -> Worker:
    """Run a Worker in a thread until `done()` (checked in an app context) or timeout."""
    worker = Worker(app, name=name, poll_seconds=poll, reconcile_seconds=0)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with app.app_context():
                db.session.expire_all()
                if done():
                    return worker
            time.sleep(0.02)
        raise AssertionError("the worker did not get there in time")
    finally:
        worker.stop()
        thread.join(timeout=15)
        assert not thread.is_alive()


def job_state_is(attempt_id: int, *states: str) -> Callable[[], bool]:
    def check() -> bool:
        job = db.session.scalar(select(OutboxJob).where(OutboxJob.attempt_id == attempt_id))
        return job is not None and job.state in states
    return check


# ---- times and tokens -----------------------------------------------------------------

def iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def gaps(calls: list[dict[str, Any]]) -> list[float]:
    times = [iso(c["at"]) for c in calls]
    return [(b - a).total_seconds() for a, b in zip(times, times[1:])]


def server_jwt(exp_offset: float | None = 30, secret: str = SECRET, algorithm: str = "HS256",
               **claims: Any) -> str:
    payload = dict(claims)
    if exp_offset is not None:
        payload["exp"] = int(time.time() + exp_offset)
    return jwt.encode(payload, secret, algorithm=algorithm)


def form_action_and_token(page: str) -> tuple[str, str]:
    action = re.search(r'<form id="constructor-start" method="post" action="([^"]+)"', page).group(1)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    return action, token


__all__ = ["Sandbox", "constructor_exam", "running_attempt",
           "closed_attempt", "job_of", "run_until", "job_state_is", "iso", "gaps",
           "server_jwt", "form_action_and_token", "serve_sandbox_quietly", "SECRET",
           "BACKOFF_BASE", "utcnow"]

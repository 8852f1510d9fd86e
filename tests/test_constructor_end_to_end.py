"""Portal and sandbox both served for real: the worker's finish call makes the sandbox
send its review to the portal's callback, then the proctor's conclusion arrives."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from tests.support.live import serve
from tests.support.constructor import (Sandbox, job_state_is, run_until, running_attempt,
                                       serve_sandbox_quietly)


@pytest.fixture
def stack(app):
    portal_url, stop_portal = serve(app, "portal-e2e")
    url, sandbox_app, stop_sandbox = serve_sandbox_quietly(
        SANDBOX_BACKGROUND=True, SANDBOX_REVIEW_URL=portal_url + "/api/constructor/review")
    app.config.update(CONSTRUCTOR_URL=url, OUTBOX_BACKOFF_BASE=0.05)
    yield Sandbox(url, sandbox_app)
    stop_sandbox()
    stop_portal()


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def result_with(identifier: str, status: str):
    def check():
        result = db.session.scalar(select(ProctoringResult).where(ProctoringResult.identifier == identifier))
        return result if result is not None and result.status == status else None
    return check


def test_finish_review_and_conclusion_reach_the_result(app, stack):
    attempt = running_attempt(stack)
    warned = stack.console("POST", f"/constructor/sessions/{attempt.identifier}/warning",
                           json={"type": "extra_face"})
    assert warned.status_code == 200
    from portal.exams import services

    services.submit(attempt)
    db.session.commit()
    run_until(app, job_state_is(attempt.id, "done"))

    result = wait_for(result_with(attempt.identifier, "stopped"))
    assert result.attempt_id == attempt.id
    assert (result.score, result.threshold) == (85, 70)
    assert result.link == f"{stack.url}/integration/simple/archive/{attempt.identifier}/"
    assert [w["title"] for w in result.details["warnings"]] == ["Another person in the frame"]

    concluded = stack.console("POST", f"/constructor/sessions/{attempt.identifier}/conclusion",
                              json={"conclusion": "accepted", "comment": "Looks fine"})
    assert concluded.status_code == 200
    result = wait_for(result_with(attempt.identifier, "accepted"))
    assert result.comment == "Looks fine"
    outcomes = db.session.scalars(select(WebhookDelivery.outcome).where(
        WebhookDelivery.identifier == attempt.identifier).order_by(WebhookDelivery.id)).all()
    assert outcomes == ["applied", "applied"]
    reviews = stack.console("GET", f"/deliveries?subject={attempt.identifier}&kind=review").json()
    assert all(d["state"] == "delivered" for d in reviews)


def test_reviews_signed_with_another_secret_are_refused_and_never_applied(app, stack):
    """The sandbox shares another secret: it accepts this portal's calls made with that
    secret, but the portal, back on its own, answers its reviews 401 (and they retry)."""
    wrong = "another-shared-secret-0123456789abcdef"
    own = app.config["CONSTRUCTOR_JWT_SECRET"]
    stack.app.config["SANDBOX_CONSTRUCTOR_SECRET"] = wrong
    app.config["CONSTRUCTOR_JWT_SECRET"] = wrong
    attempt = running_attempt(stack)
    from portal.exams import services

    services.submit(attempt)
    db.session.commit()
    run_until(app, job_state_is(attempt.id, "done"))
    app.config["CONSTRUCTOR_JWT_SECRET"] = own

    def refused_twice():
        sent = stack.console("GET", f"/deliveries?subject={attempt.identifier}&kind=review").json()
        tries = sent[0]["attempts"] if sent else []
        return len(tries) >= 2 and all(t["status"] == 401 for t in tries)

    wait_for(refused_twice)
    assert db.session.scalar(select(ProctoringResult)) is None
    assert db.session.scalar(select(WebhookDelivery)) is None

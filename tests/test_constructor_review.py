"""`POST /api/constructor/review`: the JWT check (401 naming the problem), the body's
validation, the raw log, the mapping onto the result, and the ordering rule."""
from __future__ import annotations

import json
import warnings

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from tests.support.constructor import closed_attempt, job_of, running_attempt, server_jwt
from tests.support.reviews import post, review


def result_of(identifier: str) -> ProctoringResult:
    db.session.expire_all()
    return db.session.scalar(select(ProctoringResult).where(ProctoringResult.identifier == identifier))


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def test_a_review_is_recorded_and_mapped_onto_the_result(client):
    attempt = closed_attempt()
    response = post(client, review(attempt.identifier))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"stored": True, "outcome": "applied"}
    result = result_of(attempt.identifier)
    assert result.attempt_id == attempt.id and result.vendor == "constructor"
    assert result.status == "stopped"  # ended, no conclusion yet
    assert (result.score, result.threshold, result.duration) == (55, 70, 42.5)
    assert result.started_at.isoformat() == "2026-03-01T10:00:00+00:00"
    assert result.stopped_at.isoformat() == "2026-03-01T10:42:30+00:00"
    assert result.signed_at == result.stopped_at  # sessionEnd orders the deliveries
    assert result.link == f"http://constructor.test/integration/simple/archive/{attempt.identifier}/"
    details = result.details
    assert details["archive"] == result.link
    assert details["threshold"] == {"attention": 70, "rejected": 40}
    assert [(w["type"], w["title"]) for w in details["warnings"]] == [
        ("extra_face", "Another person in the frame"), ("mystery", "mystery")]
    assert details["warnings"][0]["start"] == "2026-03-01T10:10:00.000Z"
    [logged] = deliveries()
    assert (logged.vendor, logged.identifier, logged.status, logged.outcome) == (
        "constructor", attempt.identifier, "stopped", "applied")
    assert json.loads(logged.body)["score"] == 55
    assert "Authorization" not in logged.headers and logged.headers["Key-Used"] == "JWT"


@pytest.mark.parametrize("conclusion, status", [("accepted", "accepted"), ("rejected", "rejected"),
                                                ("Accepted", "accepted"), ("suspicious", "stopped")])
def test_the_conclusion_is_the_status(client, conclusion, status):
    attempt = closed_attempt()
    assert post(client, review(attempt.identifier, conclusion=conclusion,
                               comment="Checked")).status_code == 200
    result = result_of(attempt.identifier)
    assert (result.status, result.conclusion, result.comment) == (status, conclusion, "Checked")


def test_without_session_end_the_session_is_still_running(client):
    attempt = running_attempt()
    post(client, review(attempt.identifier, sessionEnd=None, warnings=[]))
    assert result_of(attempt.identifier).status == "started"
    db.session.expire_all()
    assert attempt.state == "in_progress"  # not closed by a running session's review


def test_a_final_review_closes_an_open_attempt_and_queues_its_finish(client):
    attempt = running_attempt()
    post(client, review(attempt.identifier, conclusion="rejected"))
    db.session.expire_all()
    assert attempt.state == "terminated"
    assert job_of(attempt).state == "pending"


def test_threshold_falls_back_to_rejected(client):
    attempt = closed_attempt()
    post(client, review(attempt.identifier, threshold={"rejected": 40}))
    assert result_of(attempt.identifier).threshold == 40


# ---- order and repetition ---------------------------------------------------------------

def test_an_older_review_arriving_late_does_not_overwrite_the_verdict(client):
    attempt = closed_attempt()
    verdict = review(attempt.identifier, conclusion="accepted", comment="Fine")
    assert post(client, verdict).get_json()["outcome"] == "applied"
    first = review(attempt.identifier)  # the review sent at the end, delayed by retries
    assert post(client, first).get_json()["outcome"] == "stale"
    assert post(client, verdict).get_json()["outcome"] == "repeat"
    result = result_of(attempt.identifier)
    assert (result.status, result.comment) == ("accepted", "Fine")
    assert [d.outcome for d in deliveries()] == ["applied", "stale", "repeat"]


def test_a_review_of_a_resumed_session_with_a_later_end_wins(client):
    attempt = closed_attempt()
    post(client, review(attempt.identifier, score=90, sessionEnd="2026-03-01T11:00:00.000Z"))
    assert post(client, review(attempt.identifier, score=55)).get_json()["outcome"] == "stale"
    assert result_of(attempt.identifier).score == 90


def test_a_review_for_an_unknown_session_is_kept_unmatched(client):
    response = post(client, review("NoSuchAttempt123"))
    assert response.status_code == 200 and response.get_json()["outcome"] == "unmatched"
    assert result_of("NoSuchAttempt123").attempt_id is None


# ---- invalid bodies: answered 400 and recorded -----------------------------------------------

@pytest.mark.parametrize("fields, problem", [
    ({"accountId": "someone-else"}, "accountId"),
    ({"sessionId": None}, "sessionId"),
    ({"score": 500}, "score"),
    ({"sessionEnd": "yesterday"}, "sessionEnd"),
    ({"archive": "javascript:alert(1)"}, "archive"),
    ({"warnings": [{"type": ["a list"]}]}, "warnings.0.type"),
    ({"threshold": 70}, "threshold"),
])
def test_invalid_fields_are_400_and_recorded(client, fields, problem):
    attempt = closed_attempt()
    response = post(client, review(attempt.identifier, **fields))
    assert response.status_code == 400
    assert problem in [p["field"] for p in response.get_json()["problems"]]
    [logged] = deliveries()
    assert logged.outcome == "invalid" and problem in logged.detail
    assert result_of(attempt.identifier) is None


def test_a_body_that_is_not_json_is_400_and_recorded(client):
    response = post(client, "{not json")
    assert response.status_code == 400
    assert deliveries()[0].outcome == "invalid"


# ---- authentication: 401 naming the problem, nothing recorded ------------------------------

def hs512_token() -> str:
    with warnings.catch_warnings():  # the test secret is short for SHA-512; irrelevant here
        warnings.simplefilter("ignore")
        return server_jwt(algorithm="HS512")


# Tokens are made when the test runs (a 30 s exp made at collection could lapse).
@pytest.mark.parametrize("make_token, scheme, words", [
    (lambda: "", "JWT", "Missing Authorization header"),
    (server_jwt, "Bearer", "must be 'JWT <token>'"),
    (lambda: server_jwt(secret="a-different-secret-0123456789abcdef"), "JWT", "signature"),
    (lambda: server_jwt(exp_offset=-60), "JWT", "expired"),
    (lambda: server_jwt(exp_offset=None), "JWT", "no exp"),
    (hs512_token, "JWT", "HS256"),
    (lambda: "not.a.token", "JWT", "not valid"),
])
def test_bad_tokens_are_401_with_the_reason(client, make_token, scheme, words):
    attempt = closed_attempt()
    response = post(client, review(attempt.identifier), token=make_token(), scheme=scheme)
    assert response.status_code == 401
    assert words in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("JWT")
    assert deliveries() == [] and result_of(attempt.identifier) is None


def test_an_unsigned_token_is_refused(client):
    import base64

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    token = b64(b'{"alg":"none","typ":"JWT"}') + "." + b64(b'{"exp":9999999999}') + "."
    assert post(client, review("X1"), token=token).status_code == 401


def test_a_token_just_expired_is_within_the_leeway(client):
    attempt = closed_attempt()
    assert post(client, review(attempt.identifier), token=server_jwt(exp_offset=-3)).status_code == 200


def test_no_csrf_token_is_needed_but_the_app_has_csrf_on(client, app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is not False
    attempt = closed_attempt()
    assert post(client, review(attempt.identifier)).status_code == 200


def test_nothing_is_recorded_for_unauthenticated_posts(client):
    for _ in range(3):
        post(client, review("X1"), token="")
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 0


def test_while_running_the_latest_warning_orders_the_reviews(client):
    attempt = running_attempt()

    def running(score, warning_end):
        return review(attempt.identifier, sessionEnd=None, score=score, warnings=[
            {"type": "noise", "start": "2026-03-01T10:00:00.000Z", "end": warning_end}])

    assert post(client, running(70, "2026-03-01T10:20:00.000Z")).get_json()["outcome"] == "applied"
    assert post(client, running(85, "2026-03-01T10:10:00.000Z")).get_json()["outcome"] == "stale"
    result = result_of(attempt.identifier)
    assert (result.status, result.score) == ("started", 70)
    assert result.signed_at.isoformat() == "2026-03-01T10:20:00+00:00"


def test_a_failed_commit_is_503_so_the_sender_retries(client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def fail():
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
    monkeypatch.setattr(db.session, "commit", fail)
    response = post(client, review("S503"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30" and "again" in response.json["error"]
    monkeypatch.undo()
    assert deliveries() == [] and result_of("S503") is None

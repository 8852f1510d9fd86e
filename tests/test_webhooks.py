"""POST /api/proctoring/webhook over HTTP: keys, bodies, the delivery log, the attempt.

Its helpers (`post`, `delivery`, `open_attempt`, ...) are tests/support/webhooks.py's,
shared with the other test_webhooks*/test_results* modules.
"""
from __future__ import annotations

import hmac
import json
import logging
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from portal.exams import answers, services
from portal.exams.models import Answer, Attempt
from portal.extensions import db
from portal.proctoring import results
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from tests.support.app import make_app

from tests.support.webhooks import (KEY, REAL_DELIVERY, REAL_ID, count, delivery, log_rows,
                                     open_attempt, post, result_for)


# ---- the contract's real delivery ----------------------------------------------------

def test_real_delivery_is_stored_logged_and_closes_the_attempt(client, student, exam):
    attempt = open_attempt(student, exam, REAL_ID)
    answers.save_answer(attempt, exam.questions[0].id, 1)  # right: 2 points
    db.session.commit()

    response = post(client, REAL_DELIVERY, key=None,
                    headers={"x-api-key": KEY, "User-Agent": "axios/1.1.3"})

    assert response.status_code == 200
    assert response.json == {"outcome": "applied", "identifier": REAL_ID, "status": "stopped"}
    result = result_for(REAL_ID)
    assert result.attempt_id == attempt.id and result.vendor == "supervisor"
    assert (result.status, result.rank, result.score, result.duration) == ("stopped", 2, 64, 35)
    assert result.started_at.isoformat() == "2022-02-18T22:55:36.523000+00:00"
    assert result.stopped_at.isoformat() == "2022-02-18T23:55:58.524000+00:00"
    assert result.signed_at == result.order_at == result.stopped_at
    assert result.student == "82e77802-08ad-42df-bb31-c7592e96ba5c"
    assert result.proctor == "admin" and result.comment is None and result.conclusion is None
    assert result.link == f"https://demo.proctoring.online/api/report/{REAL_ID}"
    assert result.averages["n1"] == 36 and len(result.averages) == 15
    [row] = log_rows()
    assert row.body == REAL_DELIVERY and row.outcome == "applied"
    assert (row.identifier, row.status, row.vendor) == (REAL_ID, "stopped", "supervisor")
    assert row.headers["User-Agent"] == "axios/1.1.3"
    assert row.headers["Key-Used"] == "key 1 of 1"
    assert KEY not in json.dumps(row.headers) and "x-api-key" not in json.dumps(row.headers).lower()
    db.session.refresh(attempt)
    assert attempt.state == "terminated" and "stopped" in attempt.close_reason
    assert (attempt.score, attempt.max_score) == (2, 4)  # saved answers kept and graded


# ---- authentication ------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {},
    {"X-Api-Key": ""},
    {"X-Api-Key": "wrong-key"},
    {"X-Api-Key": KEY[:-1]},
    {"X-Api-Key": KEY + "x"},
    {"X-Api-Key": f" {KEY}x"},
    {"Authorization": f"Bearer {KEY}"},
    {"X-Api-Key-Other": KEY},
], ids=["missing", "empty", "wrong", "prefix", "longer", "padded", "authorization", "other-header"])
def test_missing_or_wrong_key_is_401_and_nothing_is_recorded(client, headers):
    response = post(client, delivery(), key=None, headers=headers)
    assert response.status_code == 401
    assert "X-Api-Key" in response.json["error"]
    assert count(WebhookDelivery) == 0 and count(ProctoringResult) == 0


def test_header_name_is_case_insensitive(client):
    for name in ("X-API-KEY", "x-api-key", "X-Api-Key"):
        assert post(client, delivery(), key=None, headers={name: KEY}).status_code == 200


@pytest.fixture
def app_with(backend, tmp_path):
    """An app with extra settings, its context pushed: app_with(**settings)."""
    apps = []

    def build(**settings):
        app = make_app(backend, tmp_path, **settings)
        context = app.app_context()
        context.push()
        apps.append((app, context))
        return app

    yield build
    for app, context in apps:
        db.session.remove()
        db.engine.dispose()
        context.pop()


def test_several_keys_are_accepted_for_rotation(app_with):
    client = app_with(PROCTOR_WEBHOOK_KEY="old-key-0123456789, new-key-0123456789").test_client()
    assert post(client, delivery(signed="2024-05-01T10:00:00Z"), key="old-key-0123456789").status_code == 200
    assert post(client, delivery(signed="2024-05-01T11:00:00Z"), key="new-key-0123456789").status_code == 200
    assert post(client, delivery(), key="other-key-0123456789").status_code == 401
    assert post(client, delivery(), key="old-key-0123456789, new-key-0123456789").status_code == 401
    assert [row.headers["Key-Used"] for row in log_rows()] == ["key 1 of 2", "key 2 of 2"]


def test_the_configured_header_carries_the_key(app_with):
    client = app_with(PROCTOR_WEBHOOK_HEADER="X-Proctor-Key").test_client()
    refused = post(client, delivery())  # the key in X-Api-Key
    assert refused.status_code == 401 and "X-Proctor-Key" in refused.json["error"]
    assert post(client, delivery(), header="x-proctor-key").status_code == 200


def test_every_key_is_compared_in_constant_time(app_with, monkeypatch):
    client = app_with(PROCTOR_WEBHOOK_KEY="first-key-0123456789,second-key-0123456789").test_client()
    compared = []
    original = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest",
                        lambda a, b: compared.append((a, b)) or original(a, b))
    assert post(client, delivery(), key="first-key-0123456789").status_code == 200
    # the second key is compared although the first matched: timing tells nothing
    assert compared == [(b"first-key-0123456789", b"first-key-0123456789"),
                        (b"first-key-0123456789", b"second-key-0123456789")]


# ---- invalid bodies: 400 listing each problem, still recorded ------------------------

INVALID_FIELDS = [
    ({"score": 101}, ["score"]),
    ({"score": -1}, ["score"]),
    ({"score": "64"}, ["score"]),
    ({"score": True}, ["score"]),
    ({"duration": -5}, ["duration"]),
    ({"status": "done"}, ["status"]),
    ({"status": 3}, ["status"]),
    ({"startedAt": "yesterday"}, ["startedAt"]),
    ({"signedAt": "2024-05-01T10:00:00"}, ["signedAt"]),
    ({"stoppedAt": 1645228558}, ["stoppedAt"]),
    ({"averages": {"x9": 1}}, ["averages.x9"]),
    ({"averages": {"n1": -1}}, ["averages.n1"]),
    ({"averages": {"n1": "3"}}, ["averages.n1"]),
    ({"averages": [1, 2]}, ["averages"]),
    ({"identifier": None}, ["identifier"]),
    ({"identifier": 42}, ["identifier"]),
    ({"identifier": "has space"}, ["identifier"]),
    ({"identifier": "x" * 129}, ["identifier"]),
    ({"id": "other"}, ["id"]),
    ({"link": "javascript:alert(1)"}, ["link"]),
    ({"student": "s" * 129}, ["student"]),
    ({"proctor": "nul\x00byte"}, ["proctor"]),
    ({"comment": ["a list"]}, ["comment"]),
    ({"score": 101, "status": "done", "averages": {"zz": 1}, "signedAt": "soon"},
     ["score", "status", "averages.zz", "signedAt"]),
]


@pytest.mark.parametrize("fields,problem_fields", INVALID_FIELDS,
                         ids=[",".join(f) + f"-{i}" for i, (_, f) in enumerate(INVALID_FIELDS)])
def test_invalid_fields_are_400_listing_each_problem_and_recorded(client, fields, problem_fields):
    body = json.dumps(delivery(**fields))
    response = post(client, body)
    assert response.status_code == 400
    assert response.json["outcome"] == "invalid"
    listed = [p["field"] for p in response.json["problems"]]
    assert sorted(listed) == sorted(problem_fields)
    assert all(p["message"] for p in response.json["problems"])
    [row] = log_rows()
    assert row.outcome == "invalid" and row.body == body
    assert all(field in row.detail for field in problem_fields)
    assert count(ProctoringResult) == 0


def test_missing_identifier_is_named(client):
    response = post(client, {"status": "stopped"})
    assert response.status_code == 400
    assert response.json["problems"] == [
        {"field": "identifier", "message": "required (older deployments send it as id)"}]


@pytest.mark.parametrize("raw", [
    b"{not json", b"[1, 2]", b'"text"', b"", b'{"identifier": "a", "score": NaN}',
    b'{"identifier": "a", "score": 1e999}', b'{"identifier": "a\xff"}',
    b'{"identifier": "a", "comment": "\\ud800"}',
], ids=["malformed", "array", "string", "empty", "nan", "overflow", "not-utf8", "lone-surrogate"])
def test_unreadable_json_is_400_and_recorded(client, raw):
    response = post(client, raw)
    assert response.status_code == 400
    assert response.json["problems"][0]["message"].startswith("The body")
    [row] = log_rows()
    assert row.outcome == "invalid" and row.detail
    assert count(ProctoringResult) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_unsupported_content_type_is_415_and_recorded(client, content_type):
    response = post(client, json.dumps(delivery()), content_type=content_type)
    assert response.status_code == 415
    assert "application/json" in response.json["error"]
    [row] = log_rows()
    assert row.outcome == "invalid" and "content type" in row.detail
    assert count(ProctoringResult) == 0


def test_body_over_1_mib_is_413_and_recorded_without_the_body(client):
    body = json.dumps(delivery(comment="x" * (1024 * 1024)))
    response = post(client, body)
    assert response.status_code == 413
    assert "1 MiB" in response.json["error"]
    [row] = log_rows()
    assert row.outcome == "invalid" and row.body == "" and "1 MiB" in row.detail
    assert count(ProctoringResult) == 0


def test_nul_characters_never_keep_a_delivery_out_of_the_log(client):
    """PostgreSQL text cannot hold NUL: refused fields, the identifier of an invalid
    delivery and unknown fields must still be storable (else 503 for ever)."""
    assert post(client, {"identifier": "a\x00b"}).status_code == 400
    assert log_rows()[0].identifier == "a\ufffdb"
    assert post(client, delivery(note="x\x00y", **{"odd\x00name": 1})).status_code == 200
    assert result_for("session1").details == {"note": "x\x00y", "odd\x00name": 1}
    response = post(client, b'{"identifier": "raw\x00nul"}')
    assert response.status_code == 400 and "\x00" not in log_rows()[-1].body


def test_unknown_fields_are_kept(client):
    body = delivery(weights={"c1": 4}, newField=[1, "two"], violated=True)
    assert post(client, body).status_code == 200
    assert result_for("session1").details == {"weights": {"c1": 4}, "newField": [1, "two"],
                                              "violated": True}


def test_older_deployments_id_alias(client):
    body = delivery()
    body["id"] = body.pop("identifier")
    assert post(client, body).json["identifier"] == "session1"
    assert post(client, {**body, "identifier": "session1"}).status_code == 200
    assert "Same content" in log_rows()[-1].detail
    assert result_for("session1").status == "stopped"
    assert "id" not in result_for("session1").details


# ---- form bodies ---------------------------------------------------------------------

def test_multipart_body_as_some_deployments_send_it(client):
    """As the sandbox sends it: text values, averages as a JSON string, nulls left out,
    and `id` for `identifier`."""
    form = {name: json.dumps(value) if isinstance(value, dict) else str(value)
            for name, value in json.loads(REAL_DELIVERY).items() if value is not None}
    form["id"] = form.pop("identifier")
    response = post(client, content_type="multipart/form-data", data=form)
    assert response.status_code == 200 and response.json["outcome"] == "unmatched"
    [row] = log_rows()
    assert row.content_type.startswith("multipart/form-data")
    assert 'name="averages"' in row.body and "Applied" in row.detail
    result = result_for(REAL_ID)
    assert (result.status, result.score, result.duration) == ("stopped", 64, 35)
    assert result.averages["n1"] == 36 and result.signed_at.year == 2022
    # the same content as JSON is an exact repeat
    assert post(client, REAL_DELIVERY).status_code == 200
    assert "Same content" in log_rows()[-1].detail


def test_urlencoded_body_with_bracketed_averages(client):
    data = {"identifier": "form1", "status": "accepted", "score": "72.5", "duration": "12",
            "signedAt": "2024-05-01T10:00:00Z", "averages[n1]": "3", "averages[c2]": "0.5",
            "comment": "", "extra": "kept"}
    response = post(client, content_type="application/x-www-form-urlencoded", data=data)
    assert response.status_code == 200
    result = result_for("form1")
    assert (result.status, result.score, result.duration) == ("accepted", 72.5, 12)
    assert result.averages == {"n1": 3, "c2": 0.5}
    assert result.comment is None and result.details == {"extra": "kept"}


@pytest.mark.parametrize("data,field", [
    ({"identifier": "f", "score": "lots"}, "score"),
    ({"identifier": "f", "score": "nan"}, "score"),
    ({"identifier": "f", "averages": "{broken"}, "averages"),
    ({"identifier": "f", "averages[q7]": "1"}, "averages.q7"),
    ({"identifier": "f", "averages": "{}", "averages[n1]": "1"}, "averages"),
    ({"identifier": ["f", "g"]}, "identifier"),
], ids=["text-score", "nan", "bad-json", "unknown-metric", "both-averages", "repeated"])
def test_invalid_form_fields_are_400(client, data, field):
    response = post(client, content_type="multipart/form-data", data=data)
    assert response.status_code == 400
    assert field in [p["field"] for p in response.json["problems"]]
    assert log_rows()[0].outcome == "invalid"


# ---- idempotency and order -----------------------------------------------------------

def test_a_first_delivery_with_nothing_but_its_identifier_is_applied(client, student, exam):
    # It creates the result: "applied", never a "repeat" of the row it just made (on
    # PostgreSQL the INSERT's rowcount cannot tell; RETURNING does).
    open_attempt(student, exam, "session1")
    assert post(client, {"identifier": "session1"}).json["outcome"] == "applied"
    assert post(client, {"identifier": "session1"}).json["outcome"] == "repeat"
    assert [row.outcome for row in log_rows()] == ["applied", "repeat"]


def test_an_exact_repeat_changes_nothing_and_answers_200(client, student, exam):
    attempt = open_attempt(student, exam, "session1")
    outcomes = [post(client, delivery()).json["outcome"] for _ in range(3)]
    assert outcomes == ["applied", "repeat", "repeat"]
    first_update = result_for("session1").updated_at
    assert post(client, delivery()).status_code == 200
    assert result_for("session1").updated_at == first_update
    assert [row.outcome for row in log_rows()] == ["applied", "repeat", "repeat", "repeat"]
    db.session.refresh(attempt)
    assert attempt.state == "terminated"


def test_a_proctor_changing_accepted_to_rejected_applies(client, student, exam):
    attempt = open_attempt(student, exam, "session1")
    accepted = delivery(status="accepted", signed="2024-05-01T10:00:00Z", proctor="p1")
    rejected = delivery(status="rejected", signed="2024-05-01T10:05:00Z", proctor="p1",
                        comment="phone on the desk")
    assert post(client, accepted).json["outcome"] == "applied"
    assert post(client, rejected).json["outcome"] == "applied"
    assert post(client, accepted).json["outcome"] == "stale"  # a late retry of the old one
    result = result_for("session1")
    assert (result.status, result.comment) == ("rejected", "phone on the desk")
    db.session.refresh(attempt)
    assert attempt.state == "terminated" and "accepted by p1" in attempt.close_reason


def test_a_late_stopped_never_overwrites_a_verdict(client):
    post(client, delivery(status="accepted", signed="2024-05-01T10:00:00Z"))
    response = post(client, delivery(status="stopped", signed="2024-05-01T12:00:00Z", score=1))
    assert response.json["outcome"] == "unmatched"
    assert "Older than the stored result" in log_rows()[-1].detail
    assert (result_for("session1").status, result_for("session1").score) == ("accepted", 80)


# ---- the attempt ---------------------------------------------------------------------

@pytest.mark.parametrize("status", ["stopped", "skipped", "accepted", "rejected"])
def test_a_final_status_closes_an_open_attempt_keeping_answers(client, student, exam, status):
    attempt = open_attempt(student, exam, "session1")
    answers.save_answer(attempt, exam.questions[2].id, "Paris")
    db.session.commit()
    assert post(client, delivery(status=status)).json["outcome"] == "applied"
    db.session.refresh(attempt)
    assert attempt.state == "terminated" and attempt.closed_at is not None
    assert status in attempt.close_reason
    assert attempt.score == 1 and db.session.scalar(select(Answer.points)) == 1
    assert "Closed attempt" in log_rows()[0].detail
    with pytest.raises(services.AttemptConflict):
        answers.save_answer(attempt, exam.questions[0].id, 1)


def test_a_final_status_closes_an_attempt_not_yet_started(client, student, exam):
    attempt = open_attempt(student, exam, "session1", started=False)
    post(client, delivery(status="skipped"))
    db.session.refresh(attempt)
    assert attempt.state == "terminated" and "skipped" in attempt.close_reason


def test_started_leaves_the_attempt_open(client, student, exam):
    attempt = open_attempt(student, exam, "session1")
    assert post(client, delivery(status="started", signed=None)).json["outcome"] == "applied"
    db.session.refresh(attempt)
    assert attempt.state == "in_progress"


def test_a_verdict_for_a_submitted_attempt_keeps_it_submitted(client, student, exam):
    attempt = open_attempt(student, exam, "session1")
    services.submit(attempt)
    db.session.commit()
    assert post(client, delivery(status="rejected")).json["outcome"] == "applied"
    db.session.refresh(attempt)
    assert attempt.state == "submitted" and attempt.close_reason == "Submitted by the student."
    assert "Closed attempt" not in log_rows()[0].detail


def test_an_unknown_identifier_is_kept_unmatched_then_linked(client, auth, student, exam,
                                                             monkeypatch):
    identifier = "A" * 32  # what the next attempt will get
    monkeypatch.setattr("portal.exams.models.secrets", SimpleNamespace(choice=lambda _: "A"))
    response = post(client, delivery(identifier, status="stopped"))
    assert response.status_code == 200 and response.json["outcome"] == "unmatched"
    assert result_for(identifier).attempt_id is None
    assert "No attempt has this identifier" in log_rows()[0].detail

    auth.login()
    client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    attempt = db.session.scalar(select(Attempt))
    assert attempt.identifier == identifier
    assert result_for(identifier).attempt_id == attempt.id
    assert attempt.state == "terminated"  # its proctoring session had already ended
    assert post(client, delivery(identifier, status="accepted")).json["outcome"] == "applied"


def test_link_unmatched_leaves_other_results_and_open_sessions_alone(client, student, exam):
    post(client, delivery("early", status="started", signed=None))
    attempt = services.start_or_resume(student, exam)
    attempt.identifier = "early"
    db.session.flush()
    results.link_unmatched(attempt)
    db.session.commit()
    assert result_for("early").attempt_id == attempt.id and attempt.state == "created"
    results.link_unmatched(attempt)  # nothing left to link: no error, no change
    assert result_for("early").attempt_id == attempt.id


# ---- storage failures ----------------------------------------------------------------

def _failure(*args, **kwargs):
    raise OperationalError("COMMIT", {}, Exception("disk I/O error"))


@pytest.fixture
def webhook_log(caplog, monkeypatch):
    """caplog for the webhook logger, re-enabled in case an earlier test ran Alembic's
    fileConfig (which disables every logger that exists by then)."""
    monkeypatch.setattr(logging.getLogger("portal.proctoring.webhooks"), "disabled", False)
    caplog.set_level(logging.INFO, logger="portal.proctoring.webhooks")
    return caplog


def test_a_failed_commit_is_503_so_the_sender_retries(client, monkeypatch, webhook_log):
    monkeypatch.setattr(db.session, "commit", _failure)
    response = post(client, delivery())
    assert response.status_code == 503
    assert "outcome=not-stored:OperationalError http=503" in webhook_log.text
    assert response.headers["Retry-After"] and "again" in response.json["error"]
    monkeypatch.undo()
    assert count(WebhookDelivery) == 0 and count(ProctoringResult) == 0


def test_a_failure_midway_stores_neither_the_record_nor_the_effect(client, student, exam,
                                                                   monkeypatch):
    attempt = open_attempt(student, exam, "session1")
    monkeypatch.setattr("portal.proctoring.results.exams.terminate", _failure)
    assert post(client, delivery()).status_code == 503
    monkeypatch.undo()
    assert count(WebhookDelivery) == 0 and count(ProctoringResult) == 0
    db.session.refresh(attempt)
    assert attempt.state == "in_progress"
    assert post(client, delivery()).json["outcome"] == "applied"  # the retry


# ---- logs ----------------------------------------------------------------------------

def test_one_log_line_per_delivery_and_never_the_key(client, webhook_log):
    caplog = webhook_log
    post(client, delivery(status="stopped"))
    post(client, delivery(score=500))
    post(client, delivery(), key="a-wrong-key-for-the-log")
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.proctoring.webhooks"]
    assert len(lines) == 3
    assert "identifier=session1 status=stopped outcome=unmatched http=200 ms=" in lines[0]
    assert "identifier='session1'" in lines[1] and "outcome=invalid http=400" in lines[1]
    assert "outcome=unauthenticated http=401" in lines[2]
    everything = caplog.text + " ".join(r.getMessage() for r in caplog.records)
    assert KEY not in everything and "a-wrong-key-for-the-log" not in everything


@pytest.mark.parametrize("status,proctor,reason", [
    ("stopped", "anna", "The proctoring server reports the session stopped by anna."),
    ("stopped", None, "The proctoring server reports the session stopped."),
    ("rejected", "anna", "The proctoring session ended and was rejected by anna."),
])
def test_close_reasons_name_the_proctor(status, proctor, reason):
    from portal.proctoring.results import close_reason
    assert close_reason(status, proctor) == reason


def test_a_repeated_delivery_is_two_or_three_statements(client, student, exam):
    """The webhook's hot path in SQL that does exactly the work: a delivery that changes
    nothing reads the attempt and its result in one statement, then appends the log row
    (on SQLite an INSERT ... SELECT that confirms the result is as read; on PostgreSQL
    after a SELECT ... FOR UPDATE of it), then the commit."""
    from sqlalchemy import event

    open_attempt(student, exam, "session-count", started=True)
    body = delivery("session-count", status="started", signed=None)
    assert post(client, body).status_code == 200
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        answer = post(client, body)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert answer.json["outcome"] == "repeat"
    assert len(seen) == (2 if db.engine.dialect.name == "sqlite" else 3), "\n".join(seen)

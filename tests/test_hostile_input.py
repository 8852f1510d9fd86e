"""Hostile input (issue 12, point 6, and "Results lost"): every JSON endpoint refuses what
it cannot store with a 4xx a person can act on, and never a 5xx; nulls are stored and
applied; what was stored always renders; deliveries change only their own vendor's
sessions. Each test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL, which is
stricter (text lengths, NUL, lone surrogates, 64-bit integers, Infinity in JSON)."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.exams import services
from portal.exams.models import Answer, Attempt
from portal.extensions import db
from portal.proctoring import results
from portal.proctoring.models import MetricSample, ProctoringResult, WebhookDelivery
from portal.proctoring.providers import constructor
from tests.support.app import BASE_CONFIG, add_user, start_attempt
from tests.support.constructor import running_attempt, server_jwt

WEBHOOK = "/api/proctoring/webhook"
REVIEW = "/api/constructor/review"
KEY = BASE_CONFIG["PROCTOR_WEBHOOK_KEY"]
EVERY_FIELD = ("status", "duration", "startedAt", "stoppedAt", "signedAt", "score",
               "threshold", "averages", "student", "proctor", "comment", "conclusion", "link")


def webhook(client, body: Any, content_type: str = "application/json"):
    """POST a delivery: a dict as JSON (or, for a form content type, as its fields)."""
    form = content_type.split(";")[0] in ("multipart/form-data", "application/x-www-form-urlencoded")
    data = json.dumps(body) if isinstance(body, dict) and not form else body
    return client.post(WEBHOOK, data=data, content_type=content_type, headers={"X-Api-Key": KEY})


def review(client, body: Any):
    data = json.dumps(body) if isinstance(body, dict) else body
    return client.post(REVIEW, data=data, content_type="application/json",
                       headers={"Authorization": f"JWT {server_jwt()}"})


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def log() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def result_for(identifier: str) -> ProctoringResult | None:
    db.session.expire_all()
    return db.session.scalar(select(ProctoringResult).where(ProctoringResult.identifier == identifier))


def supervisor_attempt(student, exam, identifier: str = "session1") -> Attempt:
    attempt = services.start_or_resume(student, exam)
    attempt.identifier = identifier
    services.report_started(attempt)
    db.session.commit()
    return attempt


def assert_refusal(response, status: int = 400) -> None:
    """A refusal a person can act on: the status, a JSON message, the problems listed."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == status and len(body["error"]) > 10
    assert all(p["message"] for p in body.get("problems", []))


# ---- nulls: stored and applied, a final status still closes the attempt -------------

@pytest.mark.parametrize("absent", ["null", "missing"])
def test_a_final_delivery_with_every_other_field_null_is_stored_and_closes(
        client, student, exam, absent):
    attempt = supervisor_attempt(student, exam)
    body: dict[str, Any] = {"identifier": "session1", "status": "stopped"}
    if absent == "null":
        body.update({name: None for name in EVERY_FIELD if name != "status"})
    response = webhook(client, body)
    assert response.status_code == 200 and response.get_json()["outcome"] == "applied"
    result = result_for("session1")
    assert (result.status, result.score, result.threshold, result.duration) == (
        "stopped", None, None, None)
    assert result.averages == {} and result.proctor is None
    db.session.refresh(attempt)
    assert attempt.state == "terminated" and "stopped" in attempt.close_reason


def test_the_sandboxs_delivery_without_metrics_is_applied(client, student, exam):
    """The sandbox sends `score: null` for a session without metrics (it answered 500)."""
    attempt = supervisor_attempt(student, exam)
    body = {"identifier": "session1", "status": "accepted", "score": None, "threshold": None,
            "duration": None, "averages": {"n1": None, "c2": 3}, "proctor": "anna",
            "signedAt": "2024-05-01T10:00:00Z"}
    assert webhook(client, body).get_json()["outcome"] == "applied"
    assert result_for("session1").averages == {"c2": 3}
    db.session.refresh(attempt)
    assert attempt.state == "terminated"


@pytest.mark.parametrize("content_type", ["multipart/form-data",
                                          "application/x-www-form-urlencoded"])
def test_empty_form_fields_are_nulls(client, student, exam, content_type):
    attempt = supervisor_attempt(student, exam)
    form = {name: "" for name in EVERY_FIELD if name != "averages"}
    form.update({"id": "session1", "status": "rejected", "averages[n1]": ""})
    response = webhook(client, form, content_type=content_type)
    assert response.status_code == 200, response.get_json()
    result = result_for("session1")
    assert (result.status, result.score, result.duration, result.averages) == (
        "rejected", None, None, {})
    db.session.refresh(attempt)
    assert attempt.state == "terminated"


def test_a_constructor_review_with_only_its_session_id_is_applied(client):
    attempt = running_attempt()
    body = {"sessionId": attempt.identifier, "accountId": None, "score": None,
            "threshold": {"attention": None, "rejected": None}, "sessionStart": None,
            "sessionEnd": "2026-03-01T10:42:30Z", "warnings": [None, {"type": None}],
            "warningTitles": {"extra_face": None}, "conclusion": None, "comment": None}
    response = review(client, body)
    assert response.status_code == 200, response.get_json()
    result = result_for(attempt.identifier)
    assert (result.status, result.score, result.threshold) == ("stopped", None, None)
    db.session.refresh(attempt)
    assert attempt.state == "terminated"
    assert review(client, {"sessionId": attempt.identifier}).status_code == 200


# ---- no input causes a 5xx ----------------------------------------------------------

HOSTILE_BODIES = {
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "deep-in-a-field": b'{"value": ' + b"[" * 40 + b"]" * 40 + b', "samples": '
                       + b"[" * 40 + b"]" * 40 + b"}",
    "nan": b'{"value": NaN, "samples": NaN, "identifier": "a", "sessionId": "a"}',
    "infinity": b'{"value": Infinity, "samples": [{"score": -Infinity}], "identifier": "a"}',
    "float-overflow": b'{"value": 1e400, "samples": [{"score": 1e400}], "identifier": "a"}',
    "int-beyond-64-bits": b'{"value": 18446744073709551616, "samples": [{"score": '
                          b'18446744073709551616}], "identifier": "a", "score": 1' + b"0" * 30
                          + b"}",
    "huge-int": b'{"value": ' + b"9" * 5000 + b"}",
    "lone-surrogate": b'{"value": "\\ud800", "proctor": "\\udfff", "identifier": "a", '
                      b'"sessionId": "a", "comment": "\\ud800"}',
    "not-utf8": b'{"value": "\xff\xfe"}',
    "malformed": b'{"value": ',
}


def _page_requests(attempt_id: int, question_id: int) -> dict[str, tuple[str, str]]:
    # The stop report reads no body (what the page says of a stop is not evidence).
    return {"answer": ("PUT", f"/api/attempts/{attempt_id}/answers/{question_id}"),
            "metrics": ("POST", f"/api/attempts/{attempt_id}/metrics")}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_bodies_get_a_400_from_every_page_endpoint(client, auth, student, exam, body):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    for name, (method, path) in _page_requests(attempt_id, exam.questions[2].id).items():
        response = client.open(path, method=method, data=body,
                               headers={**headers, "Content-Type": "application/json"})
        assert_refusal(response)
        assert response.get_json()["problems"], name
    assert count(Answer) == 0 and count(MetricSample) == 0
    assert db.session.get(Attempt, attempt_id).state == "in_progress"


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_the_stop_report_ignores_any_body(client, auth, student, exam, body):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    response = client.post(f"/api/attempts/{attempt_id}/stopped", data=body,
                           headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 200 and response.get_json()["state"] == "terminated"
    reason = db.session.get(Attempt, attempt_id).close_reason
    assert reason == "The page reported that the proctoring session ended."


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_bodies_get_a_400_from_the_delivery_endpoints_and_are_logged(client, body):
    for response in (webhook(client, body), review(client, body)):
        assert_refusal(response)
        assert response.get_json()["problems"][0]["message"].startswith("The body")
    assert [row.outcome for row in log()] == ["invalid", "invalid"]
    assert count(ProctoringResult) == 0


@pytest.mark.parametrize("when", [
    "2022-02-18T23:55:58+24:00",           # an offset of a day: no such zone
    "0001-01-01T00:00:00+01:00",           # before the first instant in UTC
    "9999-12-31T23:59:59-01:00",           # after the last one
    "2022-13-01T00:00:00Z",
    "+002022-02-18T23:55:58Z",
])
def test_dates_out_of_range_are_400_naming_the_field(client, when):
    response = webhook(client, {"identifier": "session1", "signedAt": when, "startedAt": when})
    assert_refusal(response)
    assert sorted(p["field"] for p in response.get_json()["problems"]) == ["signedAt", "startedAt"]
    attempt = running_attempt()
    response = review(client, {"sessionId": attempt.identifier, "sessionEnd": when})
    assert_refusal(response)
    assert [p["field"] for p in response.get_json()["problems"]] == ["sessionEnd"]
    assert count(ProctoringResult) == 0


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+01:00", 1700000000, ["2026"], "soon"])
def test_a_status_answer_with_an_unreadable_start_is_recorded_without_it(start):
    """The Constructor status call's answer is vendor input too (reconciliation)."""
    update = constructor.status_update("s1", {"status": "finished", "sessionStart": start})
    assert (update.status, update.started_at) == ("stopped", None)


def test_strings_longer_than_their_column_are_400(client, auth, student, exam):
    """A 300-character proctor name answered 500 on PostgreSQL (close_reason is 200)."""
    refused = webhook(client, {"identifier": "s", "proctor": "p" * 300})
    assert_refusal(refused)
    assert refused.get_json()["problems"][0]["field"] == "proctor"
    assert_refusal(review(client, {"sessionId": "s", "conclusion": "c" * 300}))
    assert webhook(client, {"identifier": "s", "proctor": "p" * 128}).status_code == 200


def test_text_with_nul_is_stored_where_json_holds_it_and_refused_where_text_cannot(
        client, auth, student, exam):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    response = client.put(f"/api/attempts/{attempt_id}/answers/{exam.questions[2].id}",
                          json={"value": "Par\x00is"}, headers=headers)
    assert response.status_code == 200  # a JSON column: stored escaped
    assert_refusal(webhook(client, {"identifier": "s", "proctor": "a\x00b"}))


@pytest.mark.parametrize("path", ["/api/attempts/99999999999999999999/questions",
                                  "/api/attempts/9223372036854775808/questions",
                                  "/dashboard/attempts/99999999999999999999"])
def test_ids_beyond_64_bits_in_a_path_are_404(client, auth, student, path):
    auth.login()
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", ["exam=99999999999999999999", "per_page=99999999999999999999",
                                   "page=99999999999999999999"])
def test_dashboard_filters_beyond_64_bits_are_ignored(client, auth, query):
    add_user("teacher", role="instructor")
    auth.login("teacher")
    for path in ("/dashboard", "/dashboard/rows", "/dashboard/export.csv"):
        assert client.get(f"{path}?{query}").status_code == 200, path


def test_a_refusal_naming_a_key_with_nul_is_still_logged(client):
    """The problem names the key; PostgreSQL text cannot hold its NUL (it answered 503,
    so the sender retried for ever)."""
    response = webhook(client, {"identifier": "s1", "averages": {"n\x001": 1}})
    assert_refusal(response)
    [row] = log()
    assert row.outcome == "invalid" and "\x00" not in row.detail and "averages.n" in row.detail


def test_a_form_part_without_a_name_is_400_and_logged(client):
    body = (b"--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"identifier\"\r\n\r\ns1\r\n--b--\r\n")
    response = webhook(client, body, content_type="multipart/form-data; boundary=b")
    assert_refusal(response)
    assert [row.outcome for row in log()] == ["invalid"]


def test_a_form_with_too_many_fields_is_413_and_logged(client):
    parts = b"".join(b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n1\r\n' % i
                     for i in range(1500))
    response = webhook(client, parts + b"--b--\r\n", content_type="multipart/form-data; boundary=b")
    assert_refusal(response, 413)
    assert [row.outcome for row in log()] == ["invalid"]


def test_page_reports_in_the_wrong_shape_say_what_to_send(client, auth, student, exam):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    response = client.post(f"/api/attempts/{attempt_id}/metrics", data="samples=1",
                           headers={**headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415 and "application/json" in response.get_json()["error"]
    response = client.post(f"/api/attempts/{attempt_id}/metrics", json=[1], headers=headers)
    assert_refusal(response)
    assert response.get_json()["error"] == "The body must be an object."
    response = client.put(f"/api/attempts/{attempt_id}/answers/{exam.questions[0].id}",
                          json={"value": True}, headers=headers)
    assert_refusal(response)  # grading refuses booleans; the model lets the question decide


# ---- what was stored always renders --------------------------------------------------

STORED_BODIES = [b"[" * 5000 + b"]" * 5000, b'"\\ud800"', b'{"a": "\\udfff", "identifier": "x"}',
                 b"NaN", b"1" * 5000, b"identifier=x&comment=%ED%A0%80", b"\xff\xfe"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_any_stored_body_renders_on_the_detail_and_unmatched_pages(client, auth, student, exam,
                                                                  content_type):
    attempt = supervisor_attempt(student, exam)
    for body in STORED_BODIES:
        webhook(client, body, content_type=content_type)
        webhook(client, body.replace(b'"x"', b'"session1"'), content_type=content_type)
    assert count(WebhookDelivery) == 2 * len(STORED_BODIES)
    db.session.execute(WebhookDelivery.__table__.update().values(identifier="session1"))
    db.session.commit()
    add_user("teacher", role="instructor")
    auth.login("teacher")
    for path in ("/dashboard/unmatched", f"/dashboard/attempts/{attempt.id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.get_data(as_text=True).count('class="raw"') >= len(STORED_BODIES)


# ---- deliveries change only their own vendor's sessions ----------------------------

def test_a_constructor_review_never_touches_a_supervisor_attempt(client, student, exam):
    attempt = supervisor_attempt(student, exam)
    response = review(client, {"sessionId": "session1", "accountId": "portal",
                               "conclusion": "rejected", "sessionEnd": "2026-03-01T10:00:00Z"})
    assert_refusal(response, 409)
    assert response.get_json()["outcome"] == "refused"
    db.session.refresh(attempt)
    assert attempt.state == "in_progress" and result_for("session1") is None
    [row] = log()
    assert (row.vendor, row.outcome, row.identifier) == ("constructor", "refused", "session1")
    assert "proctored by supervisor" in row.detail


def test_a_supervisor_delivery_never_touches_a_constructor_attempt(client):
    attempt = running_attempt()
    response = webhook(client, {"identifier": attempt.identifier, "status": "rejected"})
    assert_refusal(response, 409)
    db.session.refresh(attempt)
    assert attempt.state == "in_progress" and result_for(attempt.identifier) is None
    assert log()[0].outcome == "refused"


def test_an_unmatched_result_belongs_to_the_vendor_that_sent_it(client, student, exam):
    assert webhook(client, {"identifier": "early", "status": "started"}).status_code == 200
    response = review(client, {"sessionId": "early", "conclusion": "accepted"})
    assert_refusal(response, 409)
    assert result_for("early").vendor == "supervisor" and result_for("early").status == "started"
    # and an attempt of the other vendor with that identifier is never linked to it
    attempt = running_attempt()
    attempt.identifier = "early"
    db.session.commit()
    results.link_unmatched(attempt)
    db.session.commit()
    assert result_for("early").attempt_id is None

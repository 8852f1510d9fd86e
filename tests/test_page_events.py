"""What the page reports about its proctoring session: the stop event and metrics."""
import pytest
from sqlalchemy import func, select

from portal.exams import grading
from portal.exams.models import Attempt, Question
from portal.extensions import db
from portal.proctoring.models import MetricSample
from tests.conftest import start_attempt

SAMPLE = {"metrics": {"c1": 0, "c2": 10, "c3": 5, "m1": 0, "m2": 4, "n1": 0, "s1": 0, "n2": 0},
          "peak": "c2", "score": 36, "threshold": 50, "violated": True}


@pytest.fixture
def running(client, auth, student, exam):
    auth.login()
    return start_attempt(client, auth, exam)


def test_stop_event_terminates_and_keeps_answers(client, running, exam):
    attempt_id, headers = running
    q1 = exam.questions[0].id
    client.put(f"/api/attempts/{attempt_id}/answers/{q1}", json={"value": 1}, headers=headers)
    response = client.post(f"/api/attempts/{attempt_id}/stopped", json={"proctor": "anna"},
                           headers=headers)
    assert response.json == {"state": "terminated", "closed": True}
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.close_reason == "Proctoring session ended by a proctor (anna)."
    assert attempt.score == 2.0  # graded with what was saved
    for method, path, body in [("PUT", f"answers/{q1}", {"value": 0}), ("POST", "submit", None)]:
        response = client.open(f"/api/attempts/{attempt_id}/{path}", method=method, json=body,
                               headers=headers)
        assert response.status_code == 409
        assert response.json["error"] == "The proctoring session ended; the attempt is closed."
    assert attempt.answers[0].value == 1


def test_stop_after_submit_changes_nothing(client, running):
    attempt_id, headers = running
    client.post(f"/api/attempts/{attempt_id}/submit", headers=headers)
    response = client.post(f"/api/attempts/{attempt_id}/stopped", json={}, headers=headers)
    assert response.json == {"state": "submitted", "closed": False}


def test_system_stop_reason(client, running):
    attempt_id, headers = running
    client.post(f"/api/attempts/{attempt_id}/stopped", json={"proctor": None}, headers=headers)
    assert db.session.get(Attempt, attempt_id).close_reason == \
        "Proctoring session ended by the proctoring system."


def test_metrics_are_stored_as_received(client, running):
    attempt_id, headers = running
    response = client.post(f"/api/attempts/{attempt_id}/metrics",
                           json={"samples": [SAMPLE, {**SAMPLE, "violated": False, "score": 90}]},
                           headers=headers)
    assert response.json == {"stored": 2}
    first = db.session.scalars(select(MetricSample).order_by(MetricSample.id)).first()
    assert (first.score, first.threshold, first.violated, first.peak) == (36, 50, True, "c2")
    assert first.metrics["c2"] == 10


@pytest.mark.parametrize("body,message", [
    ({}, "list of 1-100"),
    ({"samples": []}, "list of 1-100"),
    ({"samples": [SAMPLE] * 101}, "list of 1-100"),
    ({"samples": ["x"]}, "samples[0] must be an object"),
    ({"samples": [{**SAMPLE, "metrics": {"zz": 1}}]}, "keys must be metric codes"),
    ({"samples": [{**SAMPLE, "peak": "zz"}]}, "peak must be a metric code"),
    ({"samples": [{**SAMPLE, "score": "high"}]}, "score must be a number"),
])
def test_bad_metrics_are_400_and_store_nothing(client, running, body, message):
    attempt_id, headers = running
    response = client.post(f"/api/attempts/{attempt_id}/metrics", json=body, headers=headers)
    assert response.status_code == 400 and message in response.json["error"]
    assert db.session.scalar(select(func.count(MetricSample.id))) == 0


@pytest.mark.parametrize("kind,correct,value,points", [
    ("single", [1], 1, 2), ("single", [1], 0, 0), ("single", [1], None, 0),
    ("multiple", [0, 2], [2, 0], 2), ("multiple", [0, 2], [0], 0),
    ("text", ["Paris", "paris, france"], "  PARIS ", 2), ("text", ["Paris"], "Lyon", 0),
])
def test_grading(kind, correct, value, points):
    question = Question(kind=kind, correct=correct, points=2, options=["a", "b", "c"])
    assert grading.points_for(question, value) == points

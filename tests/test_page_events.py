"""What the page reports about its proctoring session: the stop event and metrics."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal.db_types import utcnow

from portal.exams import grading
from portal.exams.models import Attempt, Question
from portal.extensions import db
from portal.proctoring.models import MetricSample
from tests.support.page_events import SAMPLE




def test_stop_event_terminates_and_keeps_answers(client, running, exam):
    attempt_id, headers = running
    q1 = exam.questions[0].id
    client.put(f"/api/attempts/{attempt_id}/answers/{q1}", json={"value": 1}, headers=headers)
    response = client.post(f"/api/attempts/{attempt_id}/stopped", json={"proctor": "anna"},
                           headers=headers)
    assert response.json == {"state": "terminated", "closed": True}
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.score == 2.0  # graded with what was saved
    for method, path, body in [("PUT", f"answers/{q1}", {"value": 0}), ("POST", "submit", None)]:
        response = client.open(f"/api/attempts/{attempt_id}/{path}", method=method, json=body,
                               headers=headers)
        assert response.status_code == 409
        assert response.json["error"] == "The proctoring session ended; the attempt is closed."
    assert attempt.answers[0].value == 1


def test_a_stop_is_recorded_as_reported_by_the_page_never_naming_its_proctor(client, running):
    """The page's `{proctor: ...}` is the page's word: no name becomes a fact."""
    attempt_id, headers = running
    client.post(f"/api/attempts/{attempt_id}/stopped", json={"proctor": "Dean of Studies"},
                headers=headers)
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.close_reason == "The page reported that the proctoring session ended."
    assert attempt.page_stopped_at is not None and attempt.page_started_at is not None
    # Nothing from the proctoring server: the vendor's columns stay empty.
    assert (attempt.vendor_first_delivery_at, attempt.vendor_started_at) == (None, None)


def test_stop_after_submit_changes_nothing(client, running):
    attempt_id, headers = running
    client.post(f"/api/attempts/{attempt_id}/submit", headers=headers)
    response = client.post(f"/api/attempts/{attempt_id}/stopped", json={}, headers=headers)
    assert response.json == {"state": "submitted", "closed": False}
    assert db.session.get(Attempt, attempt_id).close_reason == "Submitted by the student."


def test_metrics_are_stored_as_received(client, running):
    attempt_id, headers = running
    response = client.post(f"/api/attempts/{attempt_id}/metrics",
                           json={"samples": [SAMPLE, {**SAMPLE, "violated": False, "score": 90}]},
                           headers=headers)
    # With the attempt's deadline and the server's clock, for the page's timer (issue 16).
    assert response.json["stored"] == 2
    assert response.json["deadline"] == db.session.get(Attempt, attempt_id).deadline_at.isoformat()
    assert set(response.json) == {"stored", "deadline", "now"}
    first = db.session.scalars(select(MetricSample).order_by(MetricSample.id)).first()
    assert (first.score, first.threshold, first.violated, first.peak) == (36, 50, True, "c2")
    assert first.metrics["c2"] == 10


@pytest.mark.parametrize("body,message", [
    ({}, "list of 1-12"),
    ({"samples": []}, "list of 1-12"),
    ({"samples": [SAMPLE] * 13}, "list of 1-12"),
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


def metrics(client, attempt_id, headers, n=1, sample=SAMPLE):
    return client.post(f"/api/attempts/{attempt_id}/metrics", json={"samples": [sample] * n},
                       headers=headers)


def stored() -> int:
    return db.session.scalar(select(func.count(MetricSample.id)))


def test_metrics_only_while_the_attempt_is_in_progress(client, auth, student, exam):
    auth.login()
    response = client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    attempt_id = int(response.location.rsplit("/", 1)[1])
    headers = auth.headers()
    before = metrics(client, attempt_id, headers)
    assert before.status_code == 409
    assert before.json["error"] == "The proctoring session has not started yet."
    client.post(f"/api/attempts/{attempt_id}/started", headers=headers)
    assert metrics(client, attempt_id, headers).status_code == 200
    client.post(f"/api/attempts/{attempt_id}/submit", headers=headers)
    # A forged "all clear" after the close is refused, and nothing is stored.
    after = metrics(client, attempt_id, headers, sample={**SAMPLE, "score": 100,
                                                         "threshold": 0, "violated": False})
    assert after.status_code == 409 and "already submitted" in after.json["error"]
    assert stored() == 1


def test_at_most_a_few_samples_a_minute(client, running):
    attempt_id, headers = running
    assert metrics(client, attempt_id, headers, n=10).status_code == 200
    response = metrics(client, attempt_id, headers, n=3)
    assert response.status_code == 429
    assert response.json["error"] == ("At most 12 metrics samples a minute are accepted (10 in "
                                      "the last minute): send fewer, less often.")
    assert metrics(client, attempt_id, headers, n=2).status_code == 200
    assert stored() == 12
    # A minute later the window has moved on.
    db.session.execute(update(MetricSample).values(recorded_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    assert metrics(client, attempt_id, headers, n=12).status_code == 200


def test_a_bounded_total_per_attempt(app, client, running):
    app.config["METRICS_PER_ATTEMPT"] = 15
    attempt_id, headers = running
    assert metrics(client, attempt_id, headers, n=12).status_code == 200
    db.session.execute(update(MetricSample).values(recorded_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()
    response = metrics(client, attempt_id, headers, n=4)
    assert response.status_code == 429
    assert "already has 12 metrics samples, the most accepted is 15" in response.json["error"]
    assert metrics(client, attempt_id, headers, n=3).status_code == 200
    assert stored() == 15


@pytest.mark.parametrize("kind,correct,value,points", [
    ("single", [1], 1, 2), ("single", [1], 0, 0), ("single", [1], None, 0),
    ("multiple", [0, 2], [2, 0], 2), ("multiple", [0, 2], [0], 0),
    ("text", ["Paris", "paris, france"], "  PARIS ", 2), ("text", ["Paris"], "Lyon", 0),
])
def test_grading(kind, correct, value, points):
    question = Question(kind=kind, correct=correct, points=2, options=["a", "b", "c"])
    assert grading.points_for(question, value) == points


def test_concurrent_batches_never_pass_the_limit_together(app, student, exam, monkeypatch):
    """Batches racing past the count: the attempt lock makes them count one after the
    other (a delay after the count widens the window a race would use)."""
    import threading
    import time

    from portal.exams import services
    from portal.proctoring import page_events

    attempt = services.start_or_resume(student, exam)
    services.report_started(attempt)
    db.session.commit()
    attempt_id = attempt.id
    check = page_events._check_limits

    def slow_check(*args):
        check(*args)
        time.sleep(0.05)
    monkeypatch.setattr(page_events, "_check_limits", slow_check)
    outcomes = []

    def send():
        with app.app_context():
            try:
                page_events.record_metrics(db.session.get(Attempt, attempt_id), [SAMPLE] * 3)
                db.session.commit()
                outcomes.append("stored")
            except page_events.TooManySamples:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    assert sorted(outcomes) == ["refused"] * 4 + ["stored"] * 4
    assert stored() == 12

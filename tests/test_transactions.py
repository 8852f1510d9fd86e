"""One transaction rule (issue 13): one unit of work per writing request, committed once
after the view (core/unit_of_work.py); no write on a GET; overdue attempts shown as
expired by readers and closed only by writers (the next write, the worker's sweep,
`flask exams expire`); no `.commit(` outside the unit of work and non-request code."""
from __future__ import annotations

import ast
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import jsonify
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal.core import unit_of_work
from portal.db_types import utcnow
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.outbox.worker import Worker
from tests.support.app import Auth, add_exam, add_user, make_app
from tests.support.factories import seed_attempt, seed_result

PORTAL = Path(__file__).resolve().parent.parent / "portal"


def _row(attempt_id: int) -> tuple:
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    return attempt.state, attempt.updated_at, attempt.closed_at, attempt.score


@pytest.fixture
def overdue(app, exam, student):
    """A running attempt whose deadline passed five minutes ago, with a saved answer
    (the state in which the GETs used to close and grade the row)."""
    attempt = seed_attempt(exam, student, state="in_progress",
                           minutes_ago=exam.time_limit_minutes + 5, identifier="overdue1")
    seed_result(attempt, status="started", score=80)
    from portal.exams.models import Answer
    db.session.add(Answer(attempt_id=attempt.id, question_id=exam.questions[0].id, value=1))
    db.session.commit()
    return attempt


def get_urls(app, values: dict[str, int]) -> list[str]:
    """Every GET route of the app, from its URL map (a route added later is covered)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        urls.append(rule.build({k: values.get(k, 1) for k in rule.arguments})[1])
    return sorted(set(urls))


def test_no_get_route_writes_even_with_an_overdue_attempt(app, client, overdue, exam, student,
                                                          instructor):
    before = _row(overdue.id)
    urls = get_urls(app, {"attempt_id": overdue.id, "exam_id": exam.id, "question_id": 1})
    assert f"/attempts/{overdue.id}" in urls and "/dashboard/rows" in urls
    auth = Auth(client)
    for username in ("student1", "teacher"):
        assert auth.login(username).status_code == 302
        for url in urls:
            for headers in ({}, {"Sec-Fetch-Dest": "iframe"}, {"HX-Request": "true"}):
                response = client.get(url, headers=headers)
                body = response.get_data(as_text=True)  # a streamed body runs now
                assert response.status_code < 500, (username, url, body[:300])
                assert _row(overdue.id) == before, (username, url)
        auth.logout()


def test_the_guard_fails_a_get_that_writes(tmp_path, caplog):
    app = make_app("sqlite", tmp_path)

    @app.get("/writes")
    def writes():
        add_user("sneaky")  # the factory commits: a flush, an INSERT and a commit
        return "written"

    @app.get("/leaves-dirty")
    def leaves_dirty():
        db.session.add(Attempt(exam_id=1, user_id=1, vendor="supervisor"))
        return "pending"

    client = app.test_client()
    with app.app_context():
        # In the view: the app's error handler answers 500 and logs why.
        with caplog.at_level(logging.ERROR, logger="portal.errors"):
            assert client.get("/writes").status_code == 500
        assert "SafeRequestWrote" in caplog.text
        # After the view (a session left dirty): the test client raises it.
        with pytest.raises(unit_of_work.SafeRequestWrote, match="left the session dirty"):
            client.get("/leaves-dirty")
        db.session.remove()
        assert db.session.scalars(select(Attempt)).all() == []
        assert add_user("sneaky")  # it was not stored by the GET


def test_what_the_student_sees_of_an_overdue_attempt_is_derived(client, overdue, exam):
    """As before issue 13 (the test page goes to the result, shown expired with the
    score grade() gives), but the row is closed by the next write, not by looking."""
    auth = Auth(client)
    auth.login()
    before = _row(overdue.id)
    page = client.get(f"/attempts/{overdue.id}")
    assert page.status_code == 302 and page.location.endswith(f"/attempts/{overdue.id}/result")
    result = client.get(f"/attempts/{overdue.id}/result").get_data(as_text=True)
    assert 'data-testid="score">2 / 4<' in result and "The time limit ended your test" in result
    questions = client.get(f"/api/attempts/{overdue.id}/questions",
                           headers={"Accept": "application/json"})
    assert questions.status_code == 409 and "time limit has passed" in questions.json["error"]
    assert _row(overdue.id) == before
    # The next write about it closes it, and that is kept although the answer is 409.
    saved = client.put(f"/api/attempts/{overdue.id}/answers/{exam.questions[1].id}",
                       json={"value": [0]}, headers=auth.headers())
    assert saved.status_code == 409
    state, _, closed_at, score = _row(overdue.id)
    assert (state, score) == ("expired", 2.0) and closed_at is not None


def test_the_vendors_stop_after_the_deadline_closes_it_as_expired(client, overdue):
    """The page's timer stops the session at the deadline; its result page no longer
    closes the row first, so the "stopped" delivery that follows must not make it look
    ended by the proctoring."""
    body = {"identifier": "overdue1", "status": "stopped",
            "startedAt": "2024-05-01T00:00:00.000Z", "stoppedAt": "2024-05-01T01:00:00.000Z",
            "signedAt": None, "score": 80, "threshold": 50, "duration": 60}
    response = client.post("/api/proctoring/webhook", json=body,
                           headers={"X-Api-Key": client.application.config["PROCTOR_WEBHOOK_KEY"]})
    assert response.status_code == 200, response.json
    state, _, closed_at, score = _row(overdue.id)
    assert (state, score) == ("expired", 2.0) and closed_at is not None


def test_the_workers_sweep_and_the_cli_close_overdue_attempts(app, runner, overdue, exam,
                                                              other_student):
    second = seed_attempt(exam, other_student, state="in_progress",
                          minutes_ago=exam.time_limit_minutes + 1)
    running = seed_attempt(add_exam(slug="other"), other_student, state="in_progress",
                           minutes_ago=1)
    assert Worker(app, sweep_seconds=5).sweep() == 2
    assert _row(overdue.id)[0] == _row(second.id)[0] == "expired"
    assert _row(overdue.id)[3] == 2.0  # graded
    assert _row(running.id)[0] == "in_progress"
    db.session.execute(db.update(Attempt).where(Attempt.id == running.id)
                       .values(deadline_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    result = runner.invoke(args=["exams", "expire"])
    assert result.exit_code == 0 and "Closed 1 overdue attempt as expired." in result.output
    assert _row(running.id)[0] == "expired"
    assert "Closed 0 overdue attempts" in runner.invoke(args=["exams", "expire"]).output


def test_the_polled_digest_changes_when_an_attempt_becomes_overdue(app, exam, student):
    from portal.dashboard import queries
    from portal.dashboard.filters import TableFilters
    from portal.dashboard.flags import FlagContext

    attempt = seed_attempt(exam, student, state="in_progress", minutes_ago=1)
    now = utcnow().replace(second=30)
    before = queries.table_stamp(TableFilters(), FlagContext(now, 30))
    attempt.deadline_at = now - timedelta(seconds=1)  # as if its time ran out this second
    db.session.execute(db.update(Attempt).where(Attempt.id == attempt.id)
                       .values(deadline_at=now - timedelta(seconds=1), updated_at=attempt.updated_at))
    db.session.commit()
    assert queries.table_stamp(TableFilters(), FlagContext(now, 30)) != before


# ---- writing requests ------------------------------------------------------------------

def _commit_fails_with(error):
    def commit(*args, **kwargs):
        raise error
    return commit


@pytest.mark.parametrize("error, status", [
    (OperationalError("COMMIT", {}, Exception("database is locked")), 503),
    (IntegrityError("COMMIT", {}, Exception("UNIQUE constraint failed")), 409)])
def test_a_failed_commit_is_never_a_success(client, instructor, student, exam, monkeypatch,
                                            error, status):
    auth = Auth(client)
    auth.login("teacher")
    token = auth.csrf("/dashboard")
    monkeypatch.setattr(db.session, "commit", _commit_fails_with(error))
    response = client.post(f"/dashboard/exams/{exam.id}/allowances", data={
        "student": "student1", "extra_minutes": "15", "reason": "Extra time",
        "csrf_token": token})
    assert response.status_code == status
    if status == 503:
        assert response.headers["Retry-After"] == unit_of_work.RETRY_AFTER_SECONDS
    assert "again" in response.get_data(as_text=True)
    monkeypatch.undo()
    page = client.get(f"/dashboard/exams/{exam.id}").get_data(as_text=True)
    assert "extra minutes in" not in page  # no success was flashed for it
    from portal.exams.models import Allowance
    assert db.session.scalars(select(Allowance)).all() == []


def test_an_error_rolls_back_keep_keeps_and_callbacks_run_after_the_commit(tmp_path):
    app = make_app("sqlite", tmp_path)
    said = []

    @app.post("/work/<int:status>/<int:kept>")
    def work(status: int, kept: int):
        add_exam_pending(f"e{status}{kept}")
        unit_of_work.after_commit(lambda: said.append(status))
        if kept:
            unit_of_work.keep()
        return jsonify(ok=status < 400), status

    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    with app.app_context():
        for status, kept in ((200, 0), (409, 0), (409, 1), (500, 0)):
            client.post(f"/work/{status}/{kept}")
        from portal.exams.models import Exam
        db.session.remove()
        assert sorted(db.session.scalars(select(Exam.slug))) == ["e2000", "e4091"]
        assert said == [200, 409]


def add_exam_pending(slug: str) -> None:
    """An exam added and flushed, not committed (what a view does)."""
    from portal.exams.importer import build_exam
    from tests.support.app import EXAM_DATA

    db.session.add(build_exam({**EXAM_DATA, "slug": slug}, f"{slug}.yaml"))
    db.session.flush()


# ---- architecture ------------------------------------------------------------------------

# Non-request code: it commits its own units of work (one commit per unit).
COMMIT_ALLOWED = {
    "core/unit_of_work.py": "the requests' one commit",
    "sqlite_writers.py": "the SQLite connection's commit itself",
    "proctoring/outbox/worker.py": "the worker's units of work (a job, the expiry sweep)",
    "proctoring/outbox/jobs.py": "the worker's claim of a job",
    "proctoring/providers/constructor/reconcile.py": "the periodic reconciliation",
}


def commit_calls(path: Path) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"]


def test_only_the_unit_of_work_and_non_request_code_commit():
    offenders = []
    for path in sorted(PORTAL.rglob("*.py")):
        name = path.relative_to(PORTAL).as_posix()
        if name in COMMIT_ALLOWED or path.name == "cli.py":
            continue
        offenders += [f"{name}:{line}" for line in commit_calls(path)]
    assert not offenders, f"commit outside the unit of work: {offenders}"


def test_the_commit_check_sees_a_commit(tmp_path):
    module = tmp_path / "views.py"
    module.write_text("def view():\n    db.session.commit()\n", encoding="utf-8")
    assert commit_calls(module) == [2]
    for name in COMMIT_ALLOWED:
        assert (PORTAL / name).is_file(), name


def test_what_the_instructor_sees_of_an_overdue_attempt_is_derived(client, overdue, exam,
                                                                  instructor):
    """Table, state filter, detail page, exam counts and CSV show it expired (graded,
    closed at its deadline) while the row is still in progress."""
    Auth(client).login("teacher")
    before = _row(overdue.id)
    detail = client.get(f"/dashboard/attempts/{overdue.id}").get_data(as_text=True)
    assert "state-expired" in detail and "Time limit reached." in detail
    assert "state-expired" in client.get("/dashboard?state=expired").get_data(as_text=True)
    csv = client.get("/dashboard/export.csv").get_data(as_text=True).splitlines()
    header, row = csv[0].lstrip("\ufeff").split(","), csv[1].split(",")
    values = dict(zip(header, row))
    assert values["lms_state"] == "expired" and float(values["grade"]) == 2.0
    assert values["close_reason"] == "Time limit reached." and values["attempt_closed_at"]
    summary = client.get(f"/dashboard/exams/{exam.id}").get_data(as_text=True)
    assert re.search(r'state=expired">expired</a></td><td class="num">1<', summary)
    assert re.search(r'state=in_progress">in progress</a></td><td class="num">0<', summary)
    assert _row(overdue.id) == before


def test_the_webhooks_200_line_is_written_only_after_the_commit(client, monkeypatch):
    """The bench's "nothing lost" check counts `http=200` lines: none for a delivery
    whose commit failed (it is answered 503 and logged as not stored)."""
    body = {"identifier": "late-commit", "status": "started",
            "startedAt": "2024-05-01T00:00:00.000Z", "stoppedAt": None, "signedAt": None,
            "score": 90, "threshold": 50, "duration": 1}
    key = {"X-Api-Key": client.application.config["PROCTOR_WEBHOOK_KEY"]}
    order = []
    real_commit = db.session.commit

    def commit(*args, **kwargs):
        order.append("commit")
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(db.session, "commit", commit)
    monkeypatch.setattr(logging.getLogger("portal.proctoring.webhooks"), "log",
                        lambda level, msg, *a: order.append(msg % a))
    assert client.post("/api/proctoring/webhook", json=body, headers=key).status_code == 200
    assert order[0] == "commit" and "http=200" in order[1]
    order.clear()
    monkeypatch.setattr(db.session, "commit", _commit_fails_with(
        OperationalError("COMMIT", {}, Exception("database is locked"))))
    response = client.post("/api/proctoring/webhook", json={**body, "identifier": "lost"},
                           headers=key)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert len(order) == 1 and "not-stored:OperationalError http=503" in order[0]


def test_the_worker_loop_sweeps_every_period_and_0_turns_it_off(app, overdue, exam,
                                                                other_student):
    off = Worker(app, sweep_seconds=0)
    off._maybe_sweep()
    assert _row(overdue.id)[0] == "in_progress"
    assert app.config["EXPIRY_SWEEP_SECONDS"] == 5.0  # the default
    worker = Worker(app)
    worker._maybe_sweep()  # the first pass of the loop sweeps at once
    assert _row(overdue.id)[0] == "expired"
    second = seed_attempt(exam, other_student, state="in_progress",
                          minutes_ago=exam.time_limit_minutes + 1)
    worker._maybe_sweep()  # within the period: not yet
    assert _row(second.id)[0] == "in_progress"
    worker._next_sweep = 0
    worker._maybe_sweep()
    assert _row(second.id)[0] == "expired"

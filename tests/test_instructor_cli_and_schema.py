"""Issue 16: the bulk commands (`flask exams allow`, `flask attempts reopen`) and the
database's own invariants behind the instructor actions (one current attempt per student
and exam, allowance bounds, decision values). Runs on each backend (`app` fixture)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.db_types import utcnow
from portal.exams.models import Attempt
from portal.extensions import db
from portal.exams.models import Allowance
from portal.instructor.models import ReviewDecision, StaffAction
from tests.support.app import add_exam, add_user
from tests.support.factories import seed_attempt


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---- flask exams allow -------------------------------------------------------------------

def test_allow_gives_each_student_extra_minutes(app, runner, exam):
    s1, s2 = add_user("s1"), add_user("s2")
    running = seed_attempt(exam, s1, state="in_progress", minutes_ago=5)
    before = running.deadline_at
    result = runner.invoke(args=["exams", "allow", exam.slug, "s1", "s2", "--minutes", "20",
                                 "--reason", "Accessibility plan"])
    assert result.exit_code == 0, result.output
    assert "s1: +20 min in sample (20 min in all)" in result.output
    db.session.expire_all()
    assert db.session.get(Attempt, running.id).deadline_at == before + timedelta(minutes=20)
    log = db.session.scalars(select(StaffAction).order_by(StaffAction.id)).all()
    assert [(a.kind, a.actor_name, a.user_id) for a in log] == [
        ("allowance_added", "command line", s1.id), ("allowance_added", "command line", s2.id)]
    assert count(Allowance) == 2
    by_id = runner.invoke(args=["exams", "allow", str(exam.id), "s1", "--minutes", "5",
                                "--reason", "More"])
    assert by_id.exit_code == 0 and "(25 min in all)" in by_id.output


@pytest.mark.parametrize("args,message", [
    (["sample", "s1", "ghost", "--minutes", "20", "--reason", "r"], "no student with the username “ghost”"),
    (["sample", "s1", "--minutes", "-3", "--reason", "r"], "from 1 to 1440"),
    (["sample", "s1", "--minutes", "1441", "--reason", "r"], "from 1 to 1440"),
    (["sample", "s1", "--minutes", "20", "--reason", " "], "A reason is required"),
    (["nosuch", "s1", "--minutes", "20", "--reason", "r"], "no exam 'nosuch'"),
])
def test_allow_refuses_bad_input_and_changes_nothing(app, runner, exam, args, message):
    add_user("s1")
    result = runner.invoke(args=["exams", "allow", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert count(Allowance) == 0 and count(StaffAction) == 0


# ---- flask attempts reopen ---------------------------------------------------------------

def test_reopen_replaces_each_closed_attempt(app, runner, exam):
    a1 = seed_attempt(exam, add_user("s1"), state="terminated", close_reason="by mistake")
    a2 = seed_attempt(exam, add_user("s2"), state="submitted")
    result = runner.invoke(args=["attempts", "reopen", str(a1.id), str(a2.id),
                                 "--reason", "Proctoring outage 10:00-10:20"])
    assert result.exit_code == 0, result.output
    assert f"attempt {a1.id} (s1) reopened as attempt" in result.output
    db.session.expire_all()
    successors = db.session.scalars(select(Attempt).where(
        Attempt.reopened_from_id.in_([a1.id, a2.id]))).all()
    assert len(successors) == 2 and {a.state for a in successors} == {"created"}
    assert db.session.get(Attempt, a1.id).superseded_at is not None


@pytest.mark.parametrize("kind,message", [
    ("open", "still open"), ("unknown", "There is no attempt 999"),
    ("twice", "already reopened"), ("no_reason", "A reason is required"),
])
def test_reopen_refuses_and_changes_nothing(app, runner, exam, kind, message):
    closed = seed_attempt(exam, add_user("s1"), state="submitted")
    other = seed_attempt(exam, add_user("s2"), state="in_progress", minutes_ago=1)
    ids = {"open": [closed.id, other.id], "unknown": [closed.id, 999],
           "twice": [closed.id, closed.id], "no_reason": [closed.id]}[kind]
    reason = "" if kind == "no_reason" else "outage"
    result = runner.invoke(args=["attempts", "reopen", *map(str, ids), "--reason", reason])
    assert result.exit_code != 0 and message in result.output and "nothing changed" in result.output
    db.session.expire_all()
    assert count(Attempt) == 2 and count(StaffAction) == 0
    assert db.session.get(Attempt, closed.id).superseded_at is None


# ---- the database's invariants -------------------------------------------------------------

def test_one_current_attempt_per_student_and_exam(app, exam, student):
    first = seed_attempt(exam, student, state="submitted")
    with pytest.raises(IntegrityError):
        seed_attempt(exam, student, state="created")
    db.session.rollback()
    first = db.session.get(Attempt, first.id)
    first.superseded_at = utcnow()
    db.session.commit()
    second = seed_attempt(exam, student, state="created")
    second.reopened_from_id = first.id
    db.session.commit()
    with pytest.raises(IntegrityError):  # at most one successor each
        third = Attempt(exam_id=exam.id, user_id=student.id, vendor="supervisor",
                        reopened_from_id=first.id, superseded_at=utcnow())
        db.session.add(third)
        db.session.commit()
    db.session.rollback()
    other_exam = add_exam(slug="other")
    seed_attempt(other_exam, student, state="created")  # another exam: its own current one


@pytest.mark.parametrize("minutes", [0, -1, 1441])
def test_allowance_bounds_are_checked_by_the_database(app, exam, student, minutes):
    db.session.add(Allowance(exam_id=exam.id, user_id=student.id, extra_minutes=minutes,
                             reason="r", created_by_name="t"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_decision_values_are_checked_by_the_database(app, exam, student):
    attempt = seed_attempt(exam, student)
    db.session.add(ReviewDecision(attempt_id=attempt.id, decision="maybe", note="",
                                  decided_by_name="t"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    for decision in ("confirm", "accept", "reject"):
        row = ReviewDecision(attempt_id=attempt.id, decision=decision, note="",
                             decided_by_name="t")
        db.session.add(row)
        db.session.commit()
        db.session.delete(row)
        db.session.commit()

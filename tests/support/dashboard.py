"""Dashboard steps and data shared by the browser tests: the instructor's login and a
plausible exam in progress (the docs screenshot's data, and the pages the accessibility
test checks)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.auth.models import User
from portal.db_types import utcnow
from portal.exams.models import Exam
from portal.extensions import db
from tests.support.app import add_user
from tests.support.factories import (ZERO_AVERAGES, seed_attempt, seed_delivery, seed_job,
                             seed_result, seed_samples)


def log_in_as_instructor(page, stack) -> None:
    page.goto(stack.url("/login"))
    page.get_by_label("Username").fill("instructor")
    page.get_by_label("Password").fill("instructor")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(stack.url("/dashboard"))


def demo_exam_and_users() -> tuple[Exam, dict[str, User]]:
    exam = db.session.scalars(select(Exam)).first()
    users = {u.username: u for u in db.session.scalars(select(User))}
    return exam, users


def seed_demo_results() -> None:
    """A plausible exam in progress: verdicts, a rejection, a live session with a
    violation, a skipped one, a failed finish call, an unmatched delivery."""
    exam, users = demo_exam_and_users()
    extra = [add_user(name, display_name=full) for name, full in (
        ("student4", "Katherine Johnson"), ("student5", "Edsger Dijkstra"),
        ("student6", "Barbara Liskov"), ("student7", "Donald Knuth"))]
    now = utcnow()

    def result(attempt, **fields):
        fields.setdefault("started_at", attempt.started_at)
        fields.setdefault("stopped_at", attempt.closed_at)
        seed_result(attempt, **fields)
        seed_delivery(attempt.identifier, {"identifier": attempt.identifier,
                                           "status": fields.get("status")},
                      status=fields.get("status"), received_at=attempt.closed_at or now)

    ada = seed_attempt(exam, users["student1"], score=6, max_score=7, minutes_ago=95)
    result(ada, status="accepted", score=92, proctor="proctor", comment="All good.",
           duration=24, averages={**ZERO_AVERAGES, "c2": 3, "m2": 6})
    seed_samples(ada, [(95 - (i % 5), 50, False, None) for i in range(60)])
    alan = seed_attempt(exam, users["student2"], state="terminated", score=3, max_score=7,
                        minutes_ago=80,
                        close_reason="Proctoring session ended by a proctor (proctor).")
    result(alan, status="rejected", score=31, proctor="proctor", duration=12,
           comment="A second person answered questions.",
           averages={**ZERO_AVERAGES, "c2": 45, "c3": 22, "m2": 12})
    seed_samples(alan, [(90, 50, False, None)] * 10 + [(35, 50, True, "c3"),
                                                     (28, 50, True, "c2")])
    grace = seed_attempt(exam, users["student3"], state="in_progress", minutes_ago=8)
    seed_result(grace, status="started")
    seed_samples(grace, [(100, 50, False, None)] * 20 + [(40, 50, True, "b2")],
                 start=now - timedelta(minutes=4))
    katherine = seed_attempt(exam, extra[0], score=7, max_score=7, minutes_ago=70)
    result(katherine, status="stopped", score=47, duration=35,
           averages={**ZERO_AVERAGES, "n1": 36, "b2": 14})
    edsger = seed_attempt(exam, extra[1], score=5, max_score=7, minutes_ago=20)
    result(edsger, status="stopped", score=88, duration=9, averages={**ZERO_AVERAGES, "m1": 8})
    barbara = seed_attempt(exam, extra[2], state="created", minutes_ago=200)
    seed_result(barbara, status="skipped")
    donald = seed_attempt(exam, extra[3], score=4, max_score=7, minutes_ago=40,
                          vendor="constructor")
    result(donald, status="accepted", score=76, duration=15, vendor="constructor")
    seed_job(donald, last_error="HTTP 503 Service Unavailable")
    seed_result(None, identifier="ebb455bf-a757-4b62-bc27-da8c9ffb69fd", status="stopped",
                score=64)

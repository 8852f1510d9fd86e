"""Issue 16 in real browsers: the instructor (one browser context) acts while the student
(another) takes the demo's proctored exam under the sandbox's SDK."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.auth.models import User
from portal.exams.models import Attempt, Exam
from portal.extensions import db
from tests.support.factories import seed_attempt, seed_result
from tests.support.browser import current_attempt, open_exam, pass_prechecks, submit_exam

TUTORIAL = "Tutorial: proctoring"


@pytest.fixture
def instructor_page(browser, console_errors):
    """A second browser context, the instructor's, under the same CSP/console guard."""
    context = browser.new_context()
    console_errors.attach(context)
    yield context.new_page()
    context.close()


def log_in_instructor(page, stack) -> None:
    page.goto(stack.url("/login"))
    page.get_by_label("Username").fill("instructor")
    page.get_by_label("Password").fill("instructor")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def tutorial_id(stack) -> int:
    with stack.db():
        return db.session.scalar(select(Exam.id).where(Exam.title == TUTORIAL))


def test_an_allowance_during_the_attempt_shows_on_the_students_page(page, make_stack,
                                                                    instructor_page):
    # The page posts metrics at the pace the server allows: fast here, so the new
    # deadline arrives with the next post within a couple of seconds.
    stack = make_stack(portal={"METRICS_PER_MINUTE": 120})
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    clock = page.locator("#time-left")
    expect(clock).to_have_text(re.compile(r"^\d+:\d\d$"))
    minutes = int(clock.inner_text().split(":")[0])

    log_in_instructor(instructor_page, stack)
    instructor_page.goto(stack.url(f"/dashboard/exams/{tutorial_id(stack)}"))
    section = instructor_page.locator("#allowances")
    section.get_by_label("Student").fill("student1")
    section.get_by_label("Extra minutes").fill("30")
    section.get_by_label("Reason").fill("Documented need")
    section.get_by_role("button", name="Add allowance").click()
    expect(instructor_page.get_by_text("student1 has 30 extra minutes")).to_be_visible()
    expect(section.locator("tbody")).to_contain_text("Documented need")

    # No reload, no new poll: the page's own next request brings the new deadline.
    expect(clock).to_have_text(re.compile(rf"^({minutes + 29}|{minutes + 30}):"),
                               timeout=8000)
    with stack.db():
        attempt = db.session.scalar(select(Attempt))
        assert (attempt.deadline_at - attempt.started_at).total_seconds() / 60 == \
            pytest.approx(attempt.exam.time_limit_minutes + 30)


def test_reopen_from_the_detail_page_and_the_student_takes_the_new_attempt(
        page, stack, instructor_page):
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    submit_exam(page)
    page.wait_for_url(re.compile(r"/attempts/\d+/result$"))
    old = current_attempt(stack)

    log_in_instructor(instructor_page, stack)
    instructor_page.goto(stack.url(f"/dashboard/attempts/{old.id}"))
    instructor_page.get_by_label("Reason").fill("Camera failed: documented")
    instructor_page.get_by_role("button", name="Reopen attempt").click()
    expect(instructor_page.get_by_test_id("reopened-from")).to_contain_text(f"attempt {old.id}")
    expect(instructor_page.locator("#history")).to_contain_text("Camera failed: documented")

    page.goto(stack.url("/"))
    page.get_by_role("link", name=TUTORIAL).click()
    expect(page.locator("#reopened-note")).to_contain_text("this is a new attempt")
    page.get_by_role("button", name="Start exam").click()
    pass_prechecks(page)  # a new proctoring session: its checks again
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    with stack.db():
        new = db.session.scalar(select(Attempt).where(Attempt.reopened_from_id == old.id))
        assert new.state == "in_progress" and new.identifier != old.identifier
        assert db.session.get(Attempt, old.id).state == "submitted"


def test_record_a_decision_and_see_it_on_the_dashboard(page, stack):
    with stack.db():
        exam = db.session.scalar(select(Exam).where(Exam.title == TUTORIAL))
        student = db.session.scalar(select(User).where(User.username == "student2"))
        attempt = seed_attempt(exam, student, state="submitted")
        seed_result(attempt, status="rejected", score=20)
        attempt_id = attempt.id
    log_in_instructor(page, stack)
    page.goto(stack.url(f"/dashboard/attempts/{attempt_id}"))
    section = page.locator("#decision")
    section.get_by_label("Accept").check()
    section.get_by_label("Note").fill("Recording reviewed: a reflection, not a phone")
    section.get_by_role("button", name="Save decision").click()
    expect(page.get_by_text("The decision is saved.")).to_be_visible()
    expect(page.get_by_test_id("decision")).to_contain_text("Accept")
    expect(page.get_by_test_id("decision")).to_contain_text("instructor")
    page.goto(stack.url("/dashboard/"))
    row = page.locator(f'tr[data-attempt-id="{attempt_id}"]')
    expect(row).to_contain_text("Reviewed: Accept")
    expect(row).to_contain_text("rejected")  # the proctor's verdict, beside it
    page.get_by_label("Needs review").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(f'tr[data-attempt-id="{attempt_id}"]')).to_have_count(0)

"""Steps a student takes in the browser, shared by the browser tests."""
from __future__ import annotations

from sqlalchemy import select

from portal.exams.models import Attempt
from portal.extensions import db


def log_in(page, stack, username: str = "student1", password: str = "student") -> None:
    page.goto(stack.url("/login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(stack.url("/"))


def open_exam(page, stack) -> None:
    """Log in as student1 and start the demo's proctored exam."""
    log_in(page, stack)
    page.get_by_role("link", name="Tutorial: proctoring").click()
    page.get_by_role("button", name="Start exam").click()


def pass_prechecks(page) -> None:
    """The SDK's preliminary steps: the rules (the equipment check runs by itself)."""
    page.get_by_role("button", name="I agree").click()


def current_attempt(stack) -> Attempt:
    """The (only) attempt in the live portal's database, fresh."""
    with stack.db():
        return db.session.scalar(select(Attempt))


def submit_exam(page) -> None:
    """Submit from the test page (or its frame): Submit opens the review on the page,
    Submit answers the final confirm, Yes, submit sends it."""
    page.get_by_role("button", name="Submit", exact=True).click()
    page.get_by_role("button", name="Submit answers").click()
    page.get_by_role("dialog", name="Submit the exam?").get_by_role("button", name="Yes, submit").click()

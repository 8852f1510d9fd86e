"""A student takes the demo exam under the sandbox's SDK, in a real browser."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from portal.exams.models import Attempt
from portal.extensions import db
from tests.browser.conftest import log_in


def open_exam(page, stack):
    log_in(page, stack)
    page.get_by_role("link", name="Tutorial: proctoring").click()
    page.get_by_role("button", name="Start exam").click()


def pass_prechecks(page):
    page.get_by_role("button", name="I agree").click()


def test_take_exam_reload_midway_and_submit(page, stack):
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    page.get_by_label("supervisor.start()").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("HS256").check()
    page.get_by_role("button", name="Question 5").click()
    page.get_by_label("Your answer").fill("X-Api-Key")
    expect(page.locator("#save-status")).to_have_text("All answers saved")

    page.reload()  # the SDK resumes the same session: same username and identifier
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    expect(page.get_by_label("supervisor.start()")).to_be_checked()
    page.get_by_role("button", name="Question 5").click()
    expect(page.get_by_label("Your answer")).to_have_value("X-Api-Key")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/attempts/\d+/result$"))
    expect(page.get_by_test_id("score")).to_have_text("4 / 11")

    with stack.db():
        attempt = db.session.scalar(select(Attempt))
        assert attempt.state == "submitted"
    sessions = stack.console("GET", "/sessions").json()
    session = next(s for s in sessions if s["identifier"] == attempt.identifier)
    assert session["status"] == "stopped"  # the page called stop() after submitting

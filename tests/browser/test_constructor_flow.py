"""A student takes the demo exam under Constructor Proctor (the sandbox's), in a real
browser: Start exam form-POSTs the signed token into the vendor's page, which frames the
portal's test; submitting queues the finish call, the outbox worker sends it, and the
vendor sends the whole window back to the portal's result page."""
from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.models import ProctoringResult
from portal.proctoring.outbox.models import OutboxJob
from portal.proctoring.outbox.worker import Worker
from tests.support.browser import log_in, submit_exam


@pytest.fixture
def constructor_stack(make_stack):
    """The stack with Constructor as the default vendor and an outbox worker running."""
    stack = make_stack(portal={"PROCTOR_VENDOR": "constructor", "OUTBOX_BACKOFF_BASE": 0.05})
    worker = Worker(stack.portal_app, name="browser-test", poll_seconds=0.05, reconcile_seconds=0)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    yield stack
    worker.stop()
    thread.join(timeout=15)


def current_attempt(stack) -> Attempt:
    with stack.db():
        attempt = db.session.scalar(select(Attempt))
        db.session.expunge_all()
        return attempt


def test_start_form_posts_into_the_vendor_frame_and_finish_brings_the_student_back(page, constructor_stack):
    stack = constructor_stack
    log_in(page, stack)
    page.get_by_role("link", name="Tutorial: proctoring").click()
    page.get_by_role("button", name="Start exam").click()

    # autopost.js sent the form: the browser is on the vendor's start page, framing ours.
    page.wait_for_url(f"{stack.sandbox_url}/integration/simple/portal/start/")
    frame = page.frame_locator("#test-frame")
    expect(frame.get_by_text("Question 1 of 7")).to_be_visible()
    attempt = current_attempt(stack)
    assert attempt.state == "in_progress" and attempt.vendor == "constructor"
    session = next(s for s in stack.console("GET", "/constructor/sessions").json()
                   if s["sessionId"] == attempt.identifier)
    assert session["state"] == "started" and session["examName"] == "Tutorial: proctoring"

    frame.get_by_label("supervisor.start()").check()
    expect(frame.locator("#save-status")).to_have_text("All answers saved")
    submit_exam(frame)
    expect(frame.get_by_test_id("score")).to_have_text("2 / 10")

    # The finish call (outbox) ends the vendor session; its page moves the top window.
    page.wait_for_url(re.compile(re.escape(stack.portal_url) + r"/attempts/\d+/result$"), timeout=20_000)
    expect(page.get_by_test_id("score")).to_have_text("2 / 10")
    with stack.db():
        job = db.session.scalar(select(OutboxJob))
        assert (job.state, job.result_message, job.tries) == ("done", "finished", 1)
        assert db.session.get(Attempt, attempt.id).state == "submitted"
    calls = [c for c in stack.console("GET", "/constructor/calls").json() if c["kind"] == "finish"]
    assert [c["outcome"] for c in calls] == ["finished"]

    # And the vendor's review comes back to the portal's callback.
    with stack.db():
        for _ in range(100):
            result = db.session.scalar(select(ProctoringResult))
            if result is not None:
                break
            page.wait_for_timeout(100)
            db.session.expire_all()
        assert result is not None and result.attempt_id == attempt.id
        assert result.status == "stopped" and result.vendor == "constructor"


def test_the_framed_page_at_top_level_shows_no_questions(page, constructor_stack, console_errors):
    console_errors.allow(r"status of 403 .*/attempts/\d+/framed")  # the refusal under test
    """Opened on its own (curl, a bookmark), the framed page says how to start properly:
    the server refuses (Sec-Fetch-Dest: document), and the page's own check
    (window.top === window.self) holds where the browser sends no such header."""
    stack = constructor_stack
    log_in(page, stack)
    page.get_by_role("link", name="Tutorial: proctoring").click()
    page.get_by_role("button", name="Start exam").click()
    page.wait_for_url(f"{stack.sandbox_url}/integration/simple/portal/start/")
    expect(page.frame_locator("#test-frame").get_by_text("Question 1 of 7")).to_be_visible()
    framed_url = stack.url(f"/attempts/{current_attempt(stack).id}/framed")

    page.goto(framed_url)  # the browser says: a document, not a frame
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Start the test through the proctoring service")
    expect(refusal).to_contain_text("Resume exam")
    expect(page.get_by_text("Question 1 of 7")).to_have_count(0)

    # A browser that sends no Sec-Fetch-Dest gets the page; its script refuses to start.
    def as_if_framed(route):
        route.fulfill(response=route.fetch(headers={**route.request.headers,
                                                    "sec-fetch-dest": "iframe"}))
    page.route(framed_url, as_if_framed)
    page.goto(framed_url)
    expect(page.locator("#framed-top-level")).to_be_visible()
    expect(page.locator("#framed-top-level")).to_contain_text("press Resume exam")
    expect(page.locator("#test")).to_be_hidden()
    expect(page.locator("#proctoring")).to_be_hidden()


def start_in_the_vendor_frame(page, stack):
    log_in(page, stack)
    page.get_by_role("link", name="Tutorial: proctoring").click()
    page.get_by_role("button", name="Start exam").click()
    page.wait_for_url(f"{stack.sandbox_url}/integration/simple/portal/start/")
    return page.frame_locator("#test-frame")


def test_the_framed_page_waits_for_the_vendors_confirmation(page, constructor_stack, console_errors):
    console_errors.allow(r"status of 409 .*/api/attempts/\d+/started")  # "not confirmed yet"
    """While the server answers "not confirmed yet" (409, retry), the page shows a wait
    state and asks again; the questions appear once the vendor confirms."""
    refusals = []

    def not_yet_twice(route):
        if len(refusals) < 2:
            refusals.append(route.request.url)
            route.fulfill(status=409, json={
                "error": "The proctoring service reports your session as “ready_to_start”.",
                "status": 409, "retry": True, "waiting": True})
        else:
            route.continue_()
    page.route("**/api/attempts/*/started", not_yet_twice)
    frame = start_in_the_vendor_frame(page, constructor_stack)
    expect(frame.locator("#proctoring-status")).to_have_text(
        "Waiting for the proctoring service to confirm your session…")
    expect(frame.get_by_text("Question 1 of 7")).to_be_visible(timeout=15_000)
    assert len(refusals) == 2
    assert current_attempt(constructor_stack).vendor_status == "started"


def test_a_refused_start_says_what_to_do(page, constructor_stack, console_errors):
    console_errors.allow(r"status of 409 .*/api/attempts/\d+/started")  # the vendor's refusal
    message = ("The proctoring service does not know this session. Go back to the exam page "
               "and press Start exam to start it through the proctoring service.")
    page.route("**/api/attempts/*/started", lambda route: route.fulfill(
        status=409, json={"error": message, "status": 409, "retry": False, "waiting": False}))
    frame = start_in_the_vendor_frame(page, constructor_stack)
    error = frame.locator("#proctoring-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(message.rstrip("."))
    expect(frame.get_by_role("button", name="Retry")).to_be_visible()
    expect(frame.locator("#test")).to_be_hidden()

"""A student takes the demo exam under the sandbox's SDK, in a real browser."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from portal.exams.models import Attempt
from portal.extensions import db
from tests.support.browser import current_attempt, log_in, open_exam, pass_prechecks, submit_exam


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

    page.reload()  # the SDK resumes the same session (no preliminary steps again)
    expect(page.get_by_text("Question 5 of 7")).to_be_visible()  # where the student was
    expect(page.get_by_label("Your answer")).to_have_value("X-Api-Key")
    page.get_by_role("button", name="Question 1").click()
    expect(page.get_by_label("supervisor.start()")).to_be_checked()

    submit_exam(page)
    page.wait_for_url(re.compile(r"/attempts/\d+/result$"))
    expect(page.get_by_test_id("score")).to_have_text("4 / 10")

    with stack.db():
        attempt = db.session.scalar(select(Attempt))
        assert attempt.state == "submitted"
    sessions = stack.console("GET", "/sessions").json()
    session = next(s for s in sessions if s["identifier"] == attempt.identifier)
    assert session["status"] == "stopped"  # the page called stop() after submitting


def test_proctor_stop_locks_the_page_and_the_server(page, stack, console_errors):
    console_errors.allow(r"status of 409 .*/api/attempts/\d+/answers/1")  # provoked below
    open_exam(page, stack)
    pass_prechecks(page)
    page.get_by_label("supervisor.start()").check()
    expect(page.locator("#save-status")).to_have_text("All answers saved")
    attempt = current_attempt(stack)

    assert stack.console("POST", f"/sessions/{attempt.identifier}/stop").status_code == 200
    panel = page.get_by_role("alertdialog", name="Proctoring session ended")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("A proctor (proctor) ended your proctoring session.")
    expect(page.get_by_role("button", name="Submit")).to_be_disabled()
    expect(page.locator("#question input").first).to_be_disabled()

    for _ in range(50):  # the page reports the stop; the server closes the attempt
        if current_attempt(stack).state == "terminated":
            break
        page.wait_for_timeout(100)
    attempt = current_attempt(stack)
    assert attempt.state == "terminated" and "proctor" in attempt.close_reason
    status = page.evaluate("""async (id) => {
        const csrf = document.querySelector('meta[name=csrf-token]').content;
        const r = await fetch(`/api/attempts/${id}/answers/1`, {method: 'PUT',
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
            body: JSON.stringify({value: 0})});
        return r.status; }""", attempt.id)
    assert status == 409

    # The page's last metrics events were sent with the stop, for the instructor's timeline.
    with stack.db():
        from portal.proctoring.models import MetricSample
        for _ in range(30):
            db.session.expire_all()
            stored = db.session.scalars(select(MetricSample)).all()
            if stored:
                break
            page.wait_for_timeout(100)
        assert stored

    page.reload()  # still locked after a reload, and the saved answer is kept
    expect(page.get_by_role("alertdialog", name="Proctoring session ended")).to_be_visible()
    with stack.db():
        assert db.session.get(Attempt, attempt.id).answers[0].value == 1


def test_init_rejected_shows_the_error_and_no_questions(page, make_stack, console_errors, caplog):
    console_errors.allow(r"status of 401 .*/api/auth/jwt")  # the sandbox refuses the token
    stack = make_stack(sandbox={"SANDBOX_JWT_SECRET": "a-different-secret-than-the-portals-0123"})
    open_exam(page, stack)
    error = page.locator("#proctoring-error")
    expect(error).to_be_visible()
    # Like the real SDK, the stand-in rejects with a bare Error(statusText): the page
    # says what happened and what to do; the reason is in the proctoring server's log.
    expect(error).to_contain_text(re.compile(r"did not accept the session \(unauthorized\)", re.I))
    expect(error).to_contain_text("Press Retry")
    assert "token refused at /api/auth/jwt: signature verification failed" in caplog.text
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.get_by_role("link", name="Open the test through the proctoring service instead")).to_be_visible()
    expect(page.locator("#test")).to_be_hidden()
    assert current_attempt(stack).state == "created"


def test_start_error_is_named(page, make_stack):
    stack = make_stack(sandbox={"SANDBOX_START_ERROR": "NoVideo"})
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.locator("#proctoring-error-message")).to_contain_text("NoVideo")
    expect(page.locator("#test")).to_be_hidden()


def test_unreachable_script_shows_message_retry_and_fallback(page, stack, console_errors):
    console_errors.allow(r"ERR_UNSAFE_PORT .*127\.0\.0\.1:9/sdk/supervisor\.js")
    stack.portal_app.config["PROCTOR_URL"] = "http://127.0.0.1:9"  # nothing listens there
    open_exam(page, stack)
    expect(page.locator("#proctoring-error-message")).to_contain_text("SdkUnavailable")
    expect(page.locator("#test")).to_be_hidden()
    link = page.get_by_role("link", name="Open the test through the proctoring service instead")
    assert link.get_attribute("href").endswith("/token-link")
    # The proctoring server is back: Retry loads the script and starts the test.
    stack.portal_app.config["PROCTOR_URL"] = stack.sandbox_url
    page.reload()
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()


def test_metrics_indicator_and_evaluator_panel(page, stack):
    log_in(page, stack)
    page.goto(stack.url("/exams/1"))
    page.get_by_role("button", name="Start exam").click()
    page.wait_for_load_state()  # its scripts loaded: leaving mid-load drops the live server's files
    page.goto(page.url + "?debug=1")
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    indicator = page.locator("#metrics-indicator")
    expect(indicator).to_have_text(re.compile(r"Proctoring score \d+ / threshold 50"))
    page.get_by_role("button", name="Face not visible").click()
    expect(indicator).to_contain_text("face invisible or not looking at the camera")
    expect(indicator).to_have_class(re.compile("violated"))

    panel = page.locator("#evaluator-panel")
    panel.locator("summary").click()
    expect(page.locator("#token-payload")).to_contain_text('"role": "student"')
    log = page.locator("#sdk-log")
    for entry in ("call init()", "resolved init()", "resolved start()", "event metrics"):
        expect(log).to_contain_text(entry)
    with stack.db():
        from portal.proctoring.models import MetricSample
        for _ in range(60):
            violated = db.session.scalars(select(MetricSample).where(MetricSample.violated)).all()
            if violated:
                break
            page.wait_for_timeout(250)
            db.session.expire_all()
        assert violated and violated[0].peak == "c2"


def test_auto_start_page_says_when_the_script_starts_nothing(page, stack):
    # The vendor's 3.20.5 build, like the sandbox's, has no data-attribute auto-start.
    log_in(page, stack)
    page.goto(stack.url("/exams/1"))
    page.get_by_role("button", name="Start exam").click()
    page.wait_for_load_state()  # its scripts loaded: leaving mid-load drops the live server's files
    attempt_url = page.url
    page.goto(attempt_url + "/auto")
    script = page.locator("script[data-supervisor]")
    assert script.get_attribute("data-supervisor") == "start"
    error = page.locator("#proctoring-error")
    expect(error).to_be_visible(timeout=8000)
    expect(error).to_contain_text("NoAutoStart")
    expect(error).to_contain_text("does not start a session by itself")
    expect(page.locator("#test")).to_be_hidden()
    page.get_by_role("link", name="Start the test on the standard exam page").click()
    page.wait_for_url(attempt_url)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    assert current_attempt(stack).state == "in_progress"


def test_token_link_fallback_runs_the_test_in_the_proctoring_frame(page, stack):
    log_in(page, stack)
    page.goto(stack.url("/exams/1"))
    page.get_by_role("button", name="Start exam").click()
    page.wait_for_load_state()  # its scripts loaded: leaving mid-load drops the live server's files
    attempt_url = page.url
    page.goto(attempt_url + "/token-link")
    assert page.url.startswith(stack.sandbox_url + "/api/auth/jwt?token=")
    pass_prechecks(page)
    # The SDK's start() frames the token's url, once: the sandbox's page draws no frame.
    frame = page.frame_locator("iframe[title='Tutorial: proctoring']")
    expect(frame.get_by_text("Question 1 of 7")).to_be_visible()
    expect(page.locator("iframe")).to_have_count(1)
    frame.get_by_label("supervisor.start()").check()
    expect(frame.locator("#save-status")).to_have_text("All answers saved")
    submit_exam(frame)
    expect(frame.get_by_test_id("score")).to_have_text("2 / 10")
    # Finish is in the SDK's bar above the frame, and asks first.
    page.get_by_role("toolbar", name="Proctored test").get_by_role("button", name="Finish").click()
    confirm = page.get_by_role("alertdialog", name="Completion of the session")
    expect(confirm).to_contain_text("Once completed, you will not be able to continue.")
    confirm.get_by_role("button", name="Yes").click()
    page.wait_for_url(re.compile(r"/attempts/\d+/result$"))  # referrer: the attempt's page
    sessions = stack.console("GET", "/sessions").json()
    assert [s["status"] for s in sessions] == ["stopped"]  # Finish stopped the session
    assert current_attempt(stack).state == "submitted"
    # Reloading the framed page afterwards shows the submitted state, not the test.
    page.goto(attempt_url + "/framed")
    expect(page.get_by_test_id("score")).to_have_text("2 / 10")
    expect(page.locator("#test")).to_be_hidden()


def test_an_ended_login_says_so_and_leads_back_to_the_attempt(page, stack, console_errors):
    console_errors.allow(r"status of 401 .*/api/attempts/\d+/(answers/1|metrics|token)")  # provoked below
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    attempt_url = page.url
    with stack.db():  # a logout on another device ends this login too
        from portal.auth.models import User
        from portal.auth.services import end_sessions
        end_sessions(db.session.scalar(select(User.id).filter_by(username="student1")))
        db.session.commit()
    page.get_by_label("supervisor.start()").check()
    notice = page.get_by_role("alert").filter(has_text="Your login has ended")
    expect(notice).to_be_visible()
    notice.get_by_role("link", name="log in again").click()
    page.get_by_label("Username").fill("student1")
    page.get_by_label("Password").fill("student")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(attempt_url)

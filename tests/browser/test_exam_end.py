"""The end of a session the student did not choose, as a screen reader and a keyboard
user meet it: the polite announcements over time, one dialog (its accessible name and
description), focus moved into it and kept there, the page behind inert, the way on to
the result; and the time warnings and the time limit."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from portal.db_types import utcnow
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.outbox.worker import Worker
from tests.support.browser import current_attempt, open_exam, pass_prechecks

# Records every text the polite live region says, in order (installed before the page runs).
RECORD_ANNOUNCEMENTS = """
window.__announced = [];
document.addEventListener("DOMContentLoaded", () => {
  const region = document.getElementById("announcer");
  if (!region) return;
  new MutationObserver(() => {
    if (region.textContent) window.__announced.push(region.textContent);
  }).observe(region, {childList: true, characterData: true, subtree: true});
});
"""


def announced(page) -> list[str]:
    return page.evaluate("window.__announced")


def wait_announced(page, text: str, timeout_ms: int = 8_000) -> None:
    for _ in range(timeout_ms // 100):
        if text in announced(page):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{text!r} never announced: {announced(page)}")


def live_regions(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('main [aria-live], main [role=status]')]
        .filter(el => !el.closest('#proctoring-ui')).map(el => el.id)""")


def test_the_proctors_end_is_one_dialog_announced_and_focus_trapped(page, stack):
    page.add_init_script(RECORD_ANNOUNCEMENTS)
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    assert live_regions(page) == ["announcer"]  # one polite region (the score is silent)

    # A violation is said once, in words a student can act on; metrics go on every 0.5 s.
    page.get_by_role("button", name="Face not visible").click()
    warning = ("Proctoring warning: face invisible or not looking at the camera. "
               "Keep your face in the camera's view and look at the screen.")
    wait_announced(page, warning)
    page.get_by_role("button", name="Clear").click()
    wait_announced(page, "The proctoring warning has cleared.")
    page.wait_for_timeout(1_500)
    assert announced(page).count(warning) == 1
    assert not [t for t in announced(page) if "score" in t.lower()], announced(page)

    attempt = current_attempt(stack)
    assert stack.console("POST", f"/sessions/{attempt.identifier}/stop").status_code == 200
    dialog = page.get_by_role("alertdialog", name="Proctoring session ended")
    expect(dialog).to_be_visible()
    expect(page.get_by_role("alertdialog")).to_have_count(1)  # the SDK's own stays hidden
    expect(dialog).to_have_accessible_description(re.compile(
        r"^A proctor \(proctor\) ended your proctoring session\. Your saved answers were graded;"
        r".*contact your instructor\.$"))
    assert page.evaluate("document.activeElement.id") == "lockout"

    # Tab and Shift+Tab stay in the dialog; the page behind is inert.
    for key in ["Tab"] * 4 + ["Shift+Tab"] * 4:
        page.keyboard.press(key)
        assert page.evaluate("document.getElementById('lockout').contains(document.activeElement)"), key
    behind = page.evaluate("""() => [...document.body.children]
        .filter(el => el.id !== 'lockout' && el.tagName !== 'SCRIPT')
        .map(el => [el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''), el.inert])""")
    assert behind and all(inert for _, inert in behind), behind
    assert dict(behind).get("div#proctoring-ui") is True
    expect(page.locator("#proctoring-ui")).to_be_hidden()

    for _ in range(50):  # the page's report closes and grades the attempt
        if current_attempt(stack).state == "terminated":
            break
        page.wait_for_timeout(100)
    dialog.get_by_role("button", name="See your result").click()
    page.wait_for_url(re.compile(rf"/attempts/{attempt.id}/result$"))
    ended = page.locator("#attempt-ended")
    expect(ended).to_contain_text("The proctoring session ended your test")
    expect(ended).to_contain_text("saved answers were graded")
    expect(ended).to_contain_text("contact your instructor")


def with_deadline(route, deadline) -> None:
    """Answer the page's request as the server would, carrying the attempt's `deadline`
    (moved: an allowance, or time running down) and `now`. Every answer that carries the
    clock (saves and metrics posts) carries the same deadline, as the server's do: else
    a metrics answer with the real deadline could undo a save's before the page's clock
    ticks."""
    response = route.fetch()
    body = response.json()
    body.update(deadline=deadline.isoformat(), now=utcnow().isoformat())
    route.fulfill(response=response, json=body)


def test_time_warnings_and_the_time_limit(page, stack):
    page.add_init_script(RECORD_ANNOUNCEMENTS)
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    deadline = {"at": utcnow() + timedelta(minutes=5, seconds=1)}
    page.route(re.compile(r"/api/attempts/\d+/(answers/\d+|metrics)$"),
               lambda route: with_deadline(route, deadline["at"]))

    page.get_by_label("supervisor.init()").check()  # its save answers with 5:01 left
    wait_announced(page, "5 minutes left.")
    expect(page.locator("#time-left")).to_have_text(re.compile(r"^(5:00|4:5\d)$"))
    deadline["at"] = utcnow() + timedelta(minutes=1, seconds=1)
    page.get_by_label("supervisor.start()").check()
    wait_announced(page, "1 minute left.")
    assert announced(page).count("5 minutes left.") == 1

    # The server's deadline passes: one dialog says so, the attempt expires.
    deadline["at"] = utcnow() + timedelta(seconds=2)
    with stack.db():
        attempt = db.session.get(Attempt, current_attempt(stack).id)
        attempt.deadline_at = deadline["at"]
        db.session.commit()
    page.get_by_label("supervisor.logout()").check()
    dialog = page.get_by_role("alertdialog", name="Proctoring session ended")
    expect(dialog).to_contain_text("The time limit ended your test.", timeout=6_000)
    expect(page.locator("#question input").first).to_be_disabled()
    dialog.get_by_role("button", name="See your result").click()
    page.wait_for_url(re.compile(r"/attempts/\d+/result$"))
    expect(page.locator("#attempt-ended")).to_contain_text("The time limit ended your test")
    # The result page only shows it expired (issue 13: a GET writes nothing); the
    # outbox worker's sweep closes the row (or the next write about it would).
    assert current_attempt(stack).state == "in_progress"
    assert Worker(stack.portal_app, sweep_seconds=5).sweep() == 1
    assert current_attempt(stack).state == "expired"


def test_an_attempt_the_server_closed_ends_at_the_next_save(page, stack, console_errors):
    # Provoked below: the page learns of the close from the server's 409 (to a save, or
    # to a metrics batch that happens to go first).
    console_errors.allow(r"status of 409 .*/api/attempts/\d+/(answers/\d+|metrics)")
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    with stack.db():  # closed elsewhere (a webhook, staff): the page does not know yet
        from portal.exams import services
        services.terminate(db.session.get(Attempt, current_attempt(stack).id),
                           "The proctoring server reports the session stopped.")
        db.session.commit()
    page.get_by_label("supervisor.start()").check()
    dialog = page.get_by_role("alertdialog", name="Proctoring session ended")
    expect(dialog).to_have_accessible_description(re.compile(
        r"^The server closed your attempt: The proctoring session ended; the attempt is closed\."))
    assert page.evaluate("document.activeElement.id") == "lockout"
    expect(page.locator("#question input").first).to_be_disabled()
    identifier = current_attempt(stack).identifier
    for _ in range(50):  # and the page ended its proctoring session
        session = stack.console("GET", f"/sessions/{identifier}").json()
        if session["status"] == "stopped":
            break
        page.wait_for_timeout(100)
    assert session["status"] == "stopped", session

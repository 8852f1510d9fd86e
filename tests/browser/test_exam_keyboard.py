"""A whole exam with the keyboard alone: log in, start, the proctoring rules, one answer
of each kind, the review, the final confirm, the result. No click, no fill: only
`page.keyboard` (and one `goto` to open the login page)."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from portal.exams.models import Answer
from portal.extensions import db
from tests.support.browser import current_attempt

# What the focused element is, in the words a keyboard user would go by.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {tag: "body", type: "", id: "", name: "", text: "", label: "", checked: false};
  const label = el.labels && el.labels[0] ? el.labels[0].textContent.trim() : "";
  return {tag: el.tagName.toLowerCase(), type: el.type || "", id: el.id, name: el.name || "",
          text: (el.getAttribute("aria-label") || el.textContent || "").trim(), label,
          checked: !!el.checked};
}"""

MAX_PRESSES = 40


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def press_until(page, matches, key: str = "Tab") -> dict:
    """Press `key` until the focused element matches; fails after MAX_PRESSES."""
    for _ in range(MAX_PRESSES):
        page.keyboard.press(key)
        now = focused(page)
        if matches(now):
            return now
    raise AssertionError(f"{key} never reached the element; last focused: {focused(page)}")


def wait_focused(page, matches, timeout_ms: int = 10_000) -> None:
    for _ in range(timeout_ms // 100):
        if matches(focused(page)):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"focus never arrived; focused: {focused(page)}")


def choose_radio(page, label: str) -> None:
    """Into the radio group (Shift+Tab from Next), then arrow keys to the option."""
    press_until(page, lambda f: f["type"] == "radio", "Shift+Tab")
    for _ in range(6):
        if focused(page)["label"] == label:
            break
        page.keyboard.press("ArrowDown")
    now = focused(page)
    assert now["label"] == label and now["checked"], now


def next_question(page) -> None:
    press_until(page, lambda f: f["id"] == "next-button")
    page.keyboard.press("Enter")


def test_a_whole_exam_by_keyboard(page, stack):
    page.goto(stack.url("/login"))
    press_until(page, lambda f: f["name"] == "username")
    page.keyboard.type("student1")
    press_until(page, lambda f: f["name"] == "password")
    page.keyboard.type("student")
    page.keyboard.press("Enter")
    page.wait_for_url(stack.url("/"))

    press_until(page, lambda f: f["tag"] == "a" and f["text"] == "Tutorial: proctoring")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/exams/\d+$"))
    press_until(page, lambda f: f["text"] == "Start exam")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/attempts/\d+$"))
    page.wait_for_load_state()

    # The SDK's rules dialog takes focus on its button.
    wait_focused(page, lambda f: f["text"] == "I agree")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    wait_focused(page, lambda f: f["id"] == "question")  # the test starts at its question

    # Question 1 (single choice): Tab into the group, an arrow key checks the next option.
    press_until(page, lambda f: f["type"] == "radio")
    page.keyboard.press("ArrowDown")
    assert focused(page)["label"] == "supervisor.start()" and focused(page)["checked"]
    # Next is the next stop (Previous is disabled on the first question), Submit the last.
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "next-button"
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "submit-button"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Question 2 of 7")).to_be_visible()
    assert focused(page)["id"] == "next-button"  # Next keeps the focus: press it again
    page.keyboard.press("Enter")
    expect(page.get_by_text("Question 3 of 7")).to_be_visible()

    # Question 3 (several choices): Space ticks each box.
    for option in ("exp", "username", "identifier", "template"):
        press_until(page, lambda f, option=option: f["type"] == "checkbox" and f["label"] == option,
                    "Shift+Tab")
        page.keyboard.press("Space")
        assert focused(page)["checked"]
    next_question(page)
    next_question(page)
    expect(page.get_by_text("Question 5 of 7")).to_be_visible()

    # Question 5 (text).
    press_until(page, lambda f: f["type"] == "text", "Shift+Tab")
    page.keyboard.type("X-Api-Key")
    expect(page.locator("#save-status")).to_have_text("All answers saved")

    # Question 7 (single choice), then Next is done: focus moves on to Submit.
    next_question(page)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Question 7 of 7")).to_be_visible()
    assert focused(page)["id"] == "submit-button"
    choose_radio(page, "every 10 seconds")
    expect(page.locator("#save-status")).to_have_text("All answers saved")

    # Submit opens the review on the page.
    press_until(page, lambda f: f["id"] == "submit-button")
    page.keyboard.press("Enter")
    review = page.locator("#review")
    expect(review).to_be_visible()
    assert focused(page)["id"] == "review-title"
    expect(review.locator("#review-unanswered li")).to_have_count(3)  # 2, 4, 6
    expect(review.locator("#review-unanswered")).to_contain_text("Question 2:")
    press_until(page, lambda f: f["id"] == "review-submit")
    page.keyboard.press("Enter")

    confirm = page.get_by_role("dialog", name="Submit the exam?")
    expect(confirm).to_contain_text("3 of 7 questions are not answered.")
    assert focused(page)["id"] == "submit-confirm"
    press_until(page, lambda f: f["text"] == "Yes, submit")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/attempts/\d+/result$"))
    expect(page.get_by_test_id("score")).to_have_text("6 / 10")

    attempt = current_attempt(stack)
    assert attempt.state == "submitted"
    with stack.db():
        values = {a.question.position: a.value
                  for a in db.session.scalars(select(Answer).filter_by(attempt_id=attempt.id))}
    assert values == {1: 1, 3: [0, 1, 2, 3], 5: "X-Api-Key", 7: 1}, values

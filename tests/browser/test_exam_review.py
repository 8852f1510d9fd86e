"""The test page's own controls: question buttons that say whether each is answered, the
review on the page with links back, the final confirm, Log out asking first, and the
proctoring widget never covering the question or the navigation (at 1280x800, on a
390x844 phone, at 200% zoom)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import current_attempt, open_exam, pass_prechecks


def test_the_review_lists_the_unanswered_and_leads_back(page, stack):
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    page.get_by_label("supervisor.start()").check()
    expect(page.locator("#save-status")).to_have_text("All answers saved")
    # Answered or not, in words and by a mark (not by colour alone).
    first = page.get_by_role("button", name="Question 1, answered")
    expect(first).to_have_text("1 ✓")
    expect(page.get_by_role("button", name="Question 2, not answered")).to_have_text("2")

    page.get_by_role("button", name="Submit", exact=True).click()
    review = page.get_by_role("region", name="Check before you submit")
    expect(review).to_be_visible()
    expect(review).to_contain_text("1 of 7 questions answered; 6 not answered.")
    expect(page.locator("#review-unanswered li")).to_have_count(6)
    expect(page.locator("#review-answered")).to_have_text(
        "Question 1: Which call must resolve before the test is shown?")
    expect(page.locator("#test-actions")).to_be_hidden()

    review.get_by_role("link", name=re.compile(r"^Question 5: ")).click()
    expect(page.get_by_text("Question 5 of 7")).to_be_visible()
    expect(review).to_be_hidden()
    page.get_by_label("Your answer").fill("X-Api-Key")
    expect(page.locator("#save-status")).to_have_text("All answers saved")

    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#review-unanswered li")).to_have_count(5)
    page.get_by_role("button", name="Submit answers").click()
    confirm = page.get_by_role("dialog", name="Submit the exam?")
    expect(confirm).to_have_accessible_description(
        "5 of 7 questions are not answered. You cannot change your answers afterwards.")
    page.keyboard.press("Escape")  # cancels: back in the review, nothing sent
    expect(confirm).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "review-submit"
    assert current_attempt(stack).state == "in_progress"
    page.get_by_role("button", name="Submit answers").click()
    confirm.get_by_role("button", name="Yes, submit").click()
    page.wait_for_url(re.compile(r"/attempts/\d+/result$"))
    expect(page.get_by_test_id("score")).to_have_text("3 / 10")


def test_log_out_during_the_exam_asks_first(page, stack):
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    attempt_url = page.url
    header_logout = page.locator("header").get_by_role("button", name="Log out")
    header_logout.click()
    dialog = page.get_by_role("dialog", name="Log out during the exam?")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_description(re.compile(r"time keeps counting"))
    assert page.evaluate("document.querySelector('header').inert") is True
    dialog.get_by_role("button", name="Stay in the exam").click()
    expect(dialog).to_be_hidden()
    assert page.url == attempt_url
    assert page.evaluate("document.activeElement.textContent.trim()") == "Log out"

    sent: list[str] = []  # the page's posts, in order: none about the attempt after the logout
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    header_logout.click()
    dialog.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login"))
    assert current_attempt(stack).state == "in_progress"  # the attempt goes on
    logout = next(i for i, url in enumerate(sent) if url.endswith("/logout"))
    assert not [url for url in sent[logout:] if "/api/attempts/" in url], sent


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


CONTROLS = ["#prev-button", "#next-button", "#submit-button", "#question-nav"]


@pytest.mark.parametrize("viewport", [
    {"width": 1280, "height": 800},
    {"width": 390, "height": 844},    # a phone
    {"width": 640, "height": 400},    # 1280x800 at 200% zoom
], ids=["desktop", "phone", "zoom200"])
def test_the_widget_never_covers_the_question_or_the_navigation(page, stack, viewport):
    page.set_viewport_size(viewport)
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    widget = page.get_by_role("region", name="Proctoring")
    expect(widget).to_be_visible()
    page.get_by_role("button", name="Next").click()  # Previous enabled too
    toggle = widget.get_by_role("button", name=re.compile(r"the proctoring panel$"))
    compact = viewport["width"] <= 700 or viewport["height"] <= 500
    expect(toggle).to_have_attribute("aria-expanded", "false" if compact else "true")

    def assert_clear() -> None:
        page.wait_for_timeout(100)  # the reserve follows the widget's size in a frame
        box = widget.bounding_box()
        # Scrolled to the end, and each control focused (scroll padding), all are clear.
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        for selector in CONTROLS + ["#question"]:
            assert not overlap(page.locator(selector).bounding_box(), widget.bounding_box()), selector
        for selector in ["#prev-button", "#next-button", "#submit-button"]:
            if page.locator(selector).is_disabled():
                continue  # the keyboard does not reach it
            page.evaluate("window.scrollTo(0, 0)")
            page.evaluate(f"document.querySelector('{selector}').focus()")
            assert not overlap(page.locator(selector).bounding_box(), widget.bounding_box()), selector
        assert box["height"] > 0
        # The page reserves the widget's measured height, not a fixed size.
        reserve = page.evaluate("parseFloat(getComputedStyle(document.body).paddingBottom)")
        assert reserve >= box["height"], (reserve, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

    assert_clear()
    collapsed_height = widget.bounding_box()["height"]
    toggle.click()  # the other way round: expanded where it was collapsed, and back
    expect(toggle).to_have_attribute("aria-expanded", "true" if compact else "false")
    assert widget.bounding_box()["height"] != collapsed_height
    assert_clear()

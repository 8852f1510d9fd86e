"""The dashboard in a real browser: rows change live (no reload, filters kept), the page
runs under the CSP without errors, and the docs screenshot.

`UPDATE_DOCS_SCREENSHOT=1 pytest tests/browser/test_dashboard_live.py -k screenshot`
rewrites docs/dashboard.png from the demo data (tests/support/dashboard.py).
"""
from __future__ import annotations

import os
from pathlib import Path

import requests
from playwright.sync_api import expect

from portal.exams import services as exams
from portal.extensions import db
from tests.support.factories import ZERO_AVERAGES, seed_attempt
from tests.support.dashboard import demo_exam_and_users, log_in_as_instructor, seed_demo_results

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def post_webhook(stack, body: dict) -> None:
    response = requests.post(stack.url("/api/proctoring/webhook"), json=body, timeout=10,
                             headers={"X-Api-Key": stack.portal_app.config["PROCTOR_WEBHOOK_KEYS"][0]})
    assert response.status_code == 200, response.text


def test_rows_update_live_without_reload_and_keep_filters(page, stack):
    with stack.db():
        exam, users = demo_exam_and_users()
        ada = seed_attempt(exam, users["student1"], state="in_progress", minutes_ago=2)
        alan = seed_attempt(exam, users["student2"], state="in_progress", minutes_ago=1)
        ada_id, ada_identifier, alan_id = ada.id, ada.identifier, alan.id

    log_in_as_instructor(page, stack)
    page.goto(stack.url("/dashboard?q=Lovelace"))
    row = page.locator(f'tr[data-attempt-id="{ada_id}"]')
    expect(row.locator(".proctoring-status")).to_have_text("no result")
    expect(page.locator(f'tr[data-attempt-id="{alan_id}"]')).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    # A verdict arrives by webhook: the row changes within a poll or two.
    post_webhook(stack, {"identifier": ada_identifier, "status": "rejected", "score": 31,
                         "proctor": "proctor", "comment": "Second person in the room",
                         "averages": {**ZERO_AVERAGES, "c3": 42}})
    expect(row.locator(".proctoring-status")).to_have_text("rejected", timeout=20_000)
    expect(row).to_contain_text("Second person in the room")
    # ... and the final status closed the attempt: a state change, shown live too.
    expect(row.locator(".lms-state")).to_have_text("terminated", timeout=20_000)
    expect(row.locator(".flags")).to_contain_text("The proctor (proctor) rejected the session")

    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert page.url.endswith("/dashboard?q=Lovelace")
    expect(page.get_by_role("searchbox")).to_have_value("Lovelace")
    expect(page.locator(f'tr[data-attempt-id="{alan_id}"]')).to_have_count(0)


def test_state_change_without_webhook_shows_live(page, stack):
    """An attempt closed by the portal itself (here: submitted) updates its row too."""
    with stack.db():
        exam, users = demo_exam_and_users()
        attempt = seed_attempt(exam, users["student3"], state="in_progress", minutes_ago=1)
        attempt_id = attempt.id
    log_in_as_instructor(page, stack)
    row = page.locator(f'tr[data-attempt-id="{attempt_id}"]')
    expect(row.locator(".lms-state")).to_have_text("in progress")
    page.evaluate("window.__sameDocument = true")
    with stack.db():
        exams.submit(db.session.get(type(attempt), attempt_id))
        db.session.commit()
    expect(row.locator(".lms-state")).to_have_text("submitted", timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True


def test_dashboard_in_the_browser_and_screenshot(page, stack, tmp_path):
    with stack.db():
        seed_demo_results()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text or message.type == "error"
            and "favicon" not in (message.location or {}).get("url", "") else None)
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in_as_instructor(page, stack)
    expect(page.get_by_role("heading", name="Proctoring results")).to_be_visible()
    expect(page.locator(".flagged-link")).to_have_text("5 flagged: show only those")

    # The averages strip names the metrics in words on keyboard focus.
    strip = page.locator("tr", has_text="Alan Turing").locator(".avg-chart")
    strip.focus()
    expect(strip.locator(".avg-tip")).to_be_visible()
    expect(strip.locator(".avg-tip")).to_contain_text("several faces: 22")
    page.locator("h1").click()  # focus away: the tip hides again
    expect(strip.locator(".avg-tip")).to_be_hidden()

    page.wait_for_timeout(6_000)  # one poll has run under the CSP
    target = DOCS_SCREENSHOT if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1" \
        else tmp_path / "dashboard.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000

    # One click to the flagged ones, then into an attempt.
    page.locator(".flagged-link").click()
    expect(page).to_have_url(stack.url("/dashboard?flagged=1"))
    expect(page.locator("tbody tr")).to_have_count(5)
    page.get_by_role("link", name="Alan Turing").click()
    expect(page.get_by_role("heading", name="Metrics timeline")).to_be_visible()
    expect(page.get_by_role("img", name="Metrics timeline:")).to_be_visible()
    expect(page.get_by_role("button", name="Open as proctor")).to_be_visible()
    assert problems == [], problems


def test_poll_after_the_session_ends_goes_to_the_login_page(page, stack, console_errors):
    console_errors.allow(r"status of 401 .*/dashboard/rows")  # the poll after the cookies went
    log_in_as_instructor(page, stack)
    page.goto(stack.url("/dashboard?state=submitted"))
    page.context.clear_cookies()
    page.wait_for_url(stack.url("/login?next=/dashboard?state%3Dsubmitted"), timeout=20_000)

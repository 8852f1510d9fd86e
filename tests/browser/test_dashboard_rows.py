"""The results table in a real browser, as an instructor keeps it open during an exam:
the live refresh changes only the rows that changed and keeps the keyboard focus and the
scroll position across several polls, announces what changed, the rows become cards on
a phone, the whole table fits at 1280 px, and times read in the viewer's time zone."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from portal.auth.models import User
from portal.dashboard import views
from portal.db_types import utcnow
from portal.extensions import db
from tests.support.app import add_user
from tests.support.factories import seed_attempt, seed_result
from tests.support.dashboard import demo_exam_and_users, log_in_as_instructor, seed_demo_results

ROWS = 30


def post_webhook(stack, body: dict) -> None:
    response = requests.post(stack.url("/api/proctoring/webhook"), json=body, timeout=10,
                             headers={"X-Api-Key": stack.portal_app.config["PROCTOR_WEBHOOK_KEYS"][0]})
    assert response.status_code == 200, response.text


@pytest.fixture
def fast_poll(monkeypatch):
    """Poll every second (the live server runs in this process)."""
    monkeypatch.setattr(views, "POLL_SECONDS", 1)


def seed_many() -> list[tuple[int, str]]:
    """ROWS running attempts, newest first as the table sorts them: (id, identifier).
    The students never log in: they share one password hash (hashing is slow)."""
    exam, _ = demo_exam_and_users()
    seeded = []
    never_used = add_user("runner-hash", display_name="Hash").password_hash
    for i in range(ROWS):
        user = User(username=f"runner{i:02d}", display_name=f"Runner {i:02d}",
                    password_hash=never_used)
        db.session.add(user)
        db.session.flush()
        attempt = seed_attempt(exam, user, state="in_progress", minutes_ago=10 + i)
        seed_result(attempt, status="started")
        seeded.append((attempt.id, attempt.identifier))
    return seeded


MARK_ROWS = """() => { window.__rows = new Map();
  document.querySelectorAll('#results-live tbody tr').forEach(
    (tr) => window.__rows.set(tr.dataset.attemptId, tr)); }"""

SAME_ROWS = """(skip) => [...window.__rows].filter(([id, tr]) => !skip.includes(id))
  .filter(([id, tr]) => document.querySelector(`tr[data-attempt-id="${id}"]`) !== tr)
  .map(([id]) => id)"""


def test_live_refresh_replaces_only_changed_rows_and_keeps_focus_and_scroll(page, stack, fast_poll):
    with stack.db():
        rows = seed_many()
    log_in_as_instructor(page, stack)
    page.goto(stack.url("/dashboard?per_page=50"))
    announcer = page.locator("#live-announcer")
    expect(page.locator("#results-live tbody tr")).to_have_count(ROWS)
    page.evaluate(MARK_ROWS)

    # The instructor scrolled down and tabbed to a student in the middle of the table.
    target_id, target_identifier = rows[15]
    target = page.locator(f'tr[data-attempt-id="{target_id}"]')
    page.evaluate("(id) => document.querySelector(`tr[data-attempt-id='${id}']`)"
                  ".scrollIntoView({block: 'center'})", target_id)
    link = target.get_by_role("link", name="Runner 15")
    link.focus()
    assert page.evaluate("window.scrollY") > 200

    def on_screen() -> float:
        """Where the focused row is in the window: what "keeps its place" means (a new
        row above it, or a wider column that makes the rows above taller, must not
        move it)."""
        return target.evaluate("(tr) => tr.getBoundingClientRect().top")

    top_before = on_screen()

    # Poll 1: a verdict arrives for the focused row.
    post_webhook(stack, {"identifier": target_identifier, "status": "rejected", "score": 20,
                         "proctor": "proctor", "comment": "Phone on the desk"})
    expect(target.locator(".proctoring-status")).to_have_text("rejected", timeout=10_000)
    expect(announcer).to_have_text("1 result updated.")
    assert page.evaluate(SAME_ROWS, [str(target_id)]) == [], "unchanged rows were replaced"
    assert page.evaluate("(id) => window.__rows.get(String(id)) !== "
                         "document.querySelector(`tr[data-attempt-id='${id}']`)", target_id)
    # Focus is on the same control of the new row, and nothing moved.
    focused = page.evaluate("() => [document.activeElement.closest('tr')?.dataset.attemptId,"
                            " document.activeElement.textContent]")
    assert focused == [str(target_id), "Runner 15"]
    assert abs(on_screen() - top_before) <= 1
    page.evaluate(MARK_ROWS)

    # Poll 2: another row changes; the focused element is the very same object.
    page.evaluate("() => { window.__focused = document.activeElement; }")
    other_id, other_identifier = rows[3]
    post_webhook(stack, {"identifier": other_identifier, "status": "stopped", "score": 80})
    expect(page.locator(f'tr[data-attempt-id="{other_id}"] .proctoring-status')).to_have_text(
        "stopped", timeout=10_000)
    expect(announcer).to_have_text("1 result updated.")
    assert page.evaluate(SAME_ROWS, [str(other_id)]) == []
    assert page.evaluate("() => document.activeElement === window.__focused")
    assert abs(on_screen() - top_before) <= 1
    page.evaluate(MARK_ROWS)

    # Poll 3: a student starts (a new row on top, above the viewport) and two results
    # change at once: the focused row stays where it was on the screen.
    with stack.db():
        exam, _ = demo_exam_and_users()
        newcomer = seed_attempt(exam, add_user("late", display_name="Late Starter"),
                                state="in_progress", minutes_ago=1)
        newcomer_id = newcomer.id
    for _, identifier in (rows[20], rows[21]):
        post_webhook(stack, {"identifier": identifier, "status": "stopped", "score": 70})
    expect(page.locator("#results-live tbody tr").first).to_have_attribute(
        "data-attempt-id", str(newcomer_id), timeout=10_000)
    expect(page.locator(f'tr[data-attempt-id="{rows[21][0]}"] .proctoring-status')).to_have_text("stopped")
    expect(announcer).to_contain_text("1 new")
    changed = [str(newcomer_id), str(rows[20][0]), str(rows[21][0])]
    assert page.evaluate(SAME_ROWS, changed) == []
    assert page.evaluate("() => document.activeElement === window.__focused")
    assert abs(on_screen() - top_before) <= 1, (top_before, on_screen())
    assert page.locator("#live-announcer").count() == 1
    assert page.locator("[aria-live]").count() == 1, "one live region only"


def test_rows_are_cards_on_a_phone_without_sideways_scrolling(page, stack):
    with stack.db():
        seed_demo_results()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in_as_instructor(page, stack)
    expect(page.locator("#results-live tbody tr").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    row = page.locator("tr", has_text="Alan Turing")
    card = row.evaluate("""(tr) => ({display: getComputedStyle(tr).display,
        width: tr.getBoundingClientRect().width,
        labels: [...tr.cells].map((td) => getComputedStyle(td, '::before').content)})""")
    assert card["display"] == "block" and card["width"] <= 390
    assert card["labels"][:4] == ['"Student"', '"Exam"', '"LMS state"', '"Proctoring"']
    assert '"Flags"' in card["labels"]
    expect(row.locator(".flags-cell")).to_contain_text("rejected the session")
    # The sort links stay reachable above the cards.
    expect(page.get_by_role("link", name="Score / threshold")).to_be_visible()


def test_every_column_fits_at_1280(page, stack):
    with stack.db():
        seed_demo_results()
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in_as_instructor(page, stack)
    flags = page.get_by_role("columnheader", name="Flags")
    expect(flags).to_be_visible()
    box = page.locator(".results-scroll").evaluate(
        "(el) => ({scroll: el.scrollWidth, client: el.clientWidth,"
        " right: el.getBoundingClientRect().right})")
    assert box["scroll"] <= box["client"], "the table scrolls sideways at 1280 px"
    assert flags.evaluate("(th) => th.getBoundingClientRect().right") <= box["right"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.browser_context_args(timezone_id="America/New_York")
def test_times_are_in_the_viewers_zone_with_utc_on_hover(page, stack):
    started = (utcnow() - timedelta(days=3)).replace(hour=14, minute=5, second=9,
                                                     microsecond=0)
    with stack.db():
        exam, users = demo_exam_and_users()
        attempt = seed_attempt(exam, users["student1"], started=started)
        seed_result(attempt, status="accepted", score=90, duration=0.75,
                    started_at=started, stopped_at=started + timedelta(minutes=10))
        attempt_id = attempt.id
    local = started.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("America/New_York"))
    zone = local.tzname()  # EST or EDT
    log_in_as_instructor(page, stack)
    row = page.locator(f'tr[data-attempt-id="{attempt_id}"]')
    first = row.locator(".session-times time").first
    expect(first).to_have_text(local.strftime("%d %b %H:%M"))
    expect(first).to_have_attribute("title", started.strftime("%Y-%m-%d %H:%M:%S UTC"))
    expect(row.locator(".session-times time").nth(1)).to_have_text(
        (local + timedelta(minutes=10)).strftime("%H:%M"))  # the same day: the time only
    expect(page.get_by_role("columnheader", name=f"Session ({zone})")).to_be_visible()
    expect(row.locator(".duration")).to_have_text("45 s")

    page.get_by_role("link", name="Ada Lovelace").click()
    started_fact = page.locator("dt:text-is('Started') + dd time")
    expect(started_fact).to_have_text(local.strftime(f"%Y-%m-%d %H:%M:%S {zone}"))
    expect(started_fact).to_have_attribute("title", started.strftime("%Y-%m-%d %H:%M:%S UTC"))
    expect(page.locator("dt:text-is('Duration') + dd")).to_have_text("45 s")

"""The students' pages show times in the viewer's time zone too (as the dashboard does),
with the UTC time in the title and as the text without JavaScript."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from tests.support.browser import log_in
from tests.support.dashboard import demo_exam_and_users

CLOSES = datetime(2031, 1, 15, 17, 30, tzinfo=timezone.utc)


@pytest.mark.browser_context_args(timezone_id="America/New_York")
def test_closing_time_reads_in_the_viewers_zone(page, stack):
    with stack.db():
        exam, _ = demo_exam_and_users()
        exam.closes_at = CLOSES
        db.session.commit()
    local = CLOSES.astimezone(ZoneInfo("America/New_York"))  # 12:30 EST
    log_in(page, stack)
    closes = page.get_by_role("row", name="Tutorial: proctoring").locator("time")
    expect(closes).to_have_text(local.strftime("%Y-%m-%d %H:%M EST"))
    expect(closes).to_have_attribute("title", "2031-01-15 17:30:00 UTC")

    page.get_by_role("link", name="Tutorial: proctoring").click()
    intro = page.locator("main time")
    expect(intro).to_have_text("2031-01-15 12:30 EST")
    expect(intro).to_have_attribute("datetime", "2031-01-15T17:30:00Z")


@pytest.mark.browser_context_args(java_script_enabled=False)
def test_without_javascript_the_time_reads_in_utc(page, stack):
    with stack.db():
        exam, _ = demo_exam_and_users()
        exam.closes_at = CLOSES
        db.session.commit()
    log_in(page, stack)
    expect(page.get_by_role("row", name="Tutorial: proctoring").locator("time")).to_have_text(
        "2031-01-15 17:30 UTC")

"""The page sends metrics no faster than the server accepts them: with the sandbox's SDK
emitting an event every 0.5 s, no batch is refused (429) and the stored pace stays under
the server's limit, while a violation still reaches the server at once."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from portal.proctoring.models import MetricSample
from portal.config import DEFAULTS
from portal.extensions import db
from tests.support.browser import log_in


def test_the_page_keeps_to_the_servers_pace(page, stack):
    statuses = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/metrics") else None)
    log_in(page, stack)
    page.get_by_role("link", name="Tutorial: proctoring").click()
    page.get_by_role("button", name="Start exam").click()
    page.get_by_role("button", name="I agree").click()
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    page.wait_for_timeout(4_000)  # ~8 SDK events
    page.get_by_role("button", name="Face not visible").click()
    with stack.db():
        for _ in range(60):
            db.session.expire_all()
            stored = db.session.scalars(select(MetricSample)).all()
            if any(s.violated for s in stored):
                break
            page.wait_for_timeout(250)
        assert any(s.violated for s in stored), "the violation did not reach the server"
        span = (stored[-1].recorded_at - stored[0].recorded_at).total_seconds()
        # 0.8 of the limit per minute, plus the first sample and one violation.
        assert len(stored) <= 2 + DEFAULTS["METRICS_PER_MINUTE"] * 0.8 * max(span, 1) / 60 + 1, len(stored)
    assert statuses and all(status == 200 for status in statuses), statuses

"""WCAG 2.2 AA on every page a student or an instructor sees, checked with axe-core.

Each page is checked in light and dark (`prefers-color-scheme`) at 1280x800 and at a
390x844 phone: no serious or critical axe finding (tests/support/axe.py runs axe under
the page's own CSP). Then at 320 CSS px the page must reflow: no horizontal scrolling
of the page itself (a wide table scrolls inside its own container).

To stay fast, one portal and sandbox serve the whole module, seeded once, and each role
keeps one browser page: a check switches the colour scheme and the window size of the
loaded page instead of loading it again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.auth.models import User
from portal.exams.models import Attempt
from portal.extensions import db
from tests.support.stack import CONSOLE_AUTH, Stack, start_stack
from tests.support.app import add_user
from tests.support.axe import horizontal_overflow, serious_findings
from tests.support.dashboard import demo_exam_and_users, seed_demo_results
from tests.support.page_guard import PageGuard

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
REFLOW = {"width": 320, "height": 800}
SCHEMES = ("light", "dark")


@dataclass
class Site:
    """The module's stack, its seeded ids, and one logged-in page per role."""

    stack: Stack
    ids: dict[str, int | str]
    pages: dict[str, object] = field(default_factory=dict)
    guard: PageGuard = field(default_factory=PageGuard)


def _log_in(page, stack: Stack, username: str, password: str, lands_on: str) -> None:
    page.goto(stack.url("/login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(stack.url(lands_on))


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory):
    shutdowns: list[Callable[[], None]] = []
    stack = start_stack(tmp_path_factory.mktemp("a11y"), shutdowns)
    with stack.db():
        seed_demo_results()
        add_user("student8", display_name="Grace Hopper", password="student8pw")
        exam, users = demo_exam_and_users()
        attempts = {a.user.username: a for a in db.session.scalars(select(Attempt))}
        ids = {"exam": exam.id, "submitted": attempts["student1"].id,
               "terminated": attempts["student2"].id, "flagged": attempts["student2"].id,
               "failed_job": attempts["student7"].id}
    site = Site(stack, ids)
    contexts = []
    for role, (username, password, lands_on) in {
            "anonymous": (None, None, None),
            "student1": ("student1", "student", "/"),
            "student2": ("student2", "student", "/"),
            "student8": ("student8", "student8pw", "/"),
            "instructor": ("instructor", "instructor", "/dashboard")}.items():
        context = browser.new_context(viewport=SIZES["desktop"], color_scheme="light",
                                      reduced_motion="reduce")
        site.guard.attach(context)
        contexts.append(context)
        page = context.new_page()
        if username:
            _log_in(page, stack, username, password, lands_on)
        site.pages[role] = page
    yield site
    for context in contexts:
        context.close()
    for shutdown in reversed(shutdowns):
        shutdown()
    with stack.db():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_browser(site):
    """The module's pages are shared: each test must leave the browser error-free."""
    site.guard.violations.clear()
    site.guard.errors.clear()
    site.guard.allowed.clear()
    yield
    problems = site.guard.problems()
    assert not problems, "the browser reported:\n" + "\n".join(problems)


def audit(page, label: str) -> list[str]:
    """Every serious or critical axe finding of the loaded page in both schemes at both
    sizes, and a sideways scroll at 320 px; the page is left light at desktop size."""
    problems: list[str] = []
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        for size_name, size in SIZES.items():
            page.set_viewport_size(size)
            problems += [str(f) for f in serious_findings(page, f"[{label} {scheme} {size_name}]")]
    page.emulate_media(color_scheme="light", reduced_motion="reduce")
    page.set_viewport_size(REFLOW)
    overflow = horizontal_overflow(page)
    if overflow:
        problems.append(f"[{label}] scrolls {overflow} px sideways at 320 px: "
                        + _widest(page))
    page.set_viewport_size(SIZES["desktop"])
    return problems


def _widest(page) -> str:
    """The elements that stick out on the right (for the failure message)."""
    return page.evaluate("""() => {
      const out = [];
      for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.right > window.innerWidth + 1 && !el.closest('.overflow-auto'))
          out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                   (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
                   ' right=' + Math.round(r.right));
        if (out.length >= 8) break;
      }
      return out.join(', ');
    }""")


def check(page, label: str) -> None:
    problems = audit(page, label)
    assert not problems, "\n".join(problems)


# ---- the portal's pages, as each role sees them --------------------------------------

PAGES = {
    # name: (role, path; "{...}" filled from site.ids)
    "login": ("anonymous", "/login"),
    "not-found": ("anonymous", "/no-such-page"),
    "home": ("student1", "/"),
    "exam-intro-new": ("student8", "/exams/{exam}"),
    "exam-intro-done": ("student1", "/exams/{exam}"),
    "result": ("student1", "/attempts/{submitted}/result"),
    "closed-attempt": ("student2", "/attempts/{terminated}"),
    "forbidden": ("student1", "/dashboard"),
    "dashboard": ("instructor", "/dashboard"),
    "dashboard-flagged": ("instructor", "/dashboard?flagged=1&sort=score&dir=asc"),
    "dashboard-empty": ("instructor", "/dashboard?q=nobody-at-all"),
    "attempt-detail": ("instructor", "/dashboard/attempts/{flagged}"),
    "attempt-failed-call": ("instructor", "/dashboard/attempts/{failed_job}"),
    "exams": ("instructor", "/dashboard/exams"),
    "exam-summary": ("instructor", "/dashboard/exams/{exam}"),
    "unmatched": ("instructor", "/dashboard/unmatched"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_portal_page_meets_wcag_aa_in_both_schemes_and_reflows(site, name):
    role, path = PAGES[name]
    page = site.pages[role]
    if name in ("not-found", "forbidden"):
        site.guard.allow(r"status of 40[34]")  # the page itself answers 403/404
    page.goto(site.stack.url(path.format(**site.ids)))
    check(page, name)


def test_login_errors_meet_wcag_aa(site):
    page = site.pages["anonymous"]
    site.guard.allow(r"status of 40[01]")
    page.goto(site.stack.url("/login"))
    page.get_by_role("button", name="Log in").click()  # nothing filled in: field errors
    expect(page.locator(".field-error").first).to_be_visible()
    problems = audit(page, "login-field-errors")
    page.get_by_label("Username").fill("student1")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".flash-error, .field-error").first).to_be_visible()
    problems += audit(page, "login-refused")
    assert not problems, "\n".join(problems)


# ---- the test page, before and during the test, and the result ------------------------

def test_test_page_before_during_and_after_the_test(site):
    page = site.pages["student8"]
    problems: list[str] = []  # all steps are checked, then reported together
    page.goto(site.stack.url(f"/exams/{site.ids['exam']}"))
    page.get_by_role("button", name="Start exam").click()
    agree = page.get_by_role("button", name="I agree")
    expect(agree).to_be_visible(timeout=15_000)
    problems += audit(page, "test-page-rules")

    agree.click()
    expect(page.get_by_text("Question 1 of 7")).to_be_visible(timeout=15_000)
    problems += audit(page, "test-page-question")
    page.get_by_label("supervisor.start()").check()
    expect(page.locator("#save-status")).to_have_text("All answers saved")
    problems += audit(page, "test-page-answered")

    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.get_by_role("button", name="Submit answers")).to_be_visible()
    problems += audit(page, "test-page-review")
    page.get_by_role("button", name="Submit answers").click()
    confirm = page.get_by_role("dialog", name="Submit the exam?")
    expect(confirm).to_be_visible()
    problems += audit(page, "test-page-confirm")
    confirm.get_by_role("button", name="Yes, submit").click()
    page.wait_for_url(re.compile(r"/attempts/\d+/result$"))
    problems += audit(page, "result-after-test")

    # The session's protocol on the proctoring server (the link the dashboard shows).
    with site.stack.db():
        identifier = db.session.scalar(select(Attempt.identifier).join(Attempt.user)
                                       .where(User.username == "student8"))
    page.goto(f"{site.stack.sandbox_url}/api/report/{identifier}")
    expect(page.locator("#report-status")).to_have_text("stopped")
    problems += audit(page, "sandbox-report")
    assert not problems, "\n".join(problems)


def test_token_link_page(site, browser):
    """The proctoring server's page a token link opens (the way in when the SDK cannot
    load on the portal's page): it starts proctoring and shows the test over itself."""
    stack = site.stack
    with stack.db():
        add_user("student10", display_name="Dorothy Vaughan", password="student10pw")
    context = browser.new_context(viewport=SIZES["desktop"], reduced_motion="reduce")
    site.guard.attach(context)
    try:
        page = context.new_page()
        _log_in(page, stack, "student10", "student10pw", "/")
        page.goto(stack.url(f"/exams/{site.ids['exam']}"))
        page.get_by_role("button", name="Start exam").click()
        link = page.evaluate("JSON.parse(document.getElementById('attempt-config').textContent)"
                             ".tokenLinkUrl")
        page.goto(stack.url(link))
        agree = page.get_by_role("button", name="I agree")  # the SDK's rules step, again
        expect(agree).to_be_visible(timeout=15_000)
        problems = audit(page, "token-link-rules")
        agree.click()
        expect(page.locator("#frame-status")).to_have_text(
            "Proctoring started: the test is shown over this page.", timeout=15_000)
        expect(page.frame_locator("iframe").first.get_by_text("Question 1 of 7")).to_be_visible(
            timeout=15_000)
        problems += audit(page, "token-link-test")  # the page and the framed test
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_constructor_frame_and_the_refused_framed_page(site, browser):
    """Under Constructor Proctor the student sees the vendor's page framing the test, and,
    opened on its own, the framed page's refusal."""
    stack = site.stack
    with stack.db():
        add_user("student9", display_name="Mary Jackson", password="student9pw")
    context = browser.new_context(viewport=SIZES["desktop"], reduced_motion="reduce")
    site.guard.attach(context)
    site.guard.allow(r"status of 403 .*/attempts/\d+/framed")  # the refusal checked below
    stack.portal_app.config["PROCTOR_VENDOR"] = "constructor"
    try:
        page = context.new_page()
        _log_in(page, stack, "student9", "student9pw", "/")
        page.goto(stack.url(f"/exams/{site.ids['exam']}"))
        page.get_by_role("button", name="Start exam").click()
        page.wait_for_url(f"{stack.sandbox_url}/integration/simple/portal/start/")
        expect(page.frame_locator("#test-frame").get_by_text("Question 1 of 7")).to_be_visible()
        problems = audit(page, "constructor-frame")
        with stack.db():
            attempt_id = db.session.scalar(select(Attempt.id).join(Attempt.user)
                                           .where(User.username == "student9"))
        page.goto(stack.url(f"/attempts/{attempt_id}/framed"))
        expect(page.get_by_role("alert")).to_contain_text("Start the test through the proctoring service")
        problems += audit(page, "framed-refused")
    finally:
        stack.portal_app.config["PROCTOR_VENDOR"] = "supervisor"
        context.close()
    assert not problems, "\n".join(problems)


# ---- the sandbox's pages a student can reach --------------------------------------------

SANDBOX_PAGES = {
    "sandbox-rules": "/rules",
    "sandbox-console-login": "/",
    "sandbox-token-refused": "/api/auth/jwt?token=not-a-token",
}


@pytest.mark.parametrize("name", list(SANDBOX_PAGES))
def test_sandbox_page_meets_wcag_aa_in_both_schemes_and_reflows(site, name):
    page = site.pages["anonymous"]
    if name == "sandbox-token-refused":
        site.guard.allow(r"status of 401")
    page.goto(site.stack.sandbox_url + SANDBOX_PAGES[name].format(**site.ids))
    check(page, name)


def test_sandbox_console_login_error_meets_wcag_aa(site):
    page = site.pages["anonymous"]
    site.guard.allow(r"status of 401")
    page.goto(site.stack.sandbox_url + "/")
    page.get_by_label("Username").fill(CONSOLE_AUTH[0])
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check(page, "sandbox-console-login-error")

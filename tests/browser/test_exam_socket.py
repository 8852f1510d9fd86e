"""The proctor's end reaches the page over the SDK's socket.io websocket, as with the
vendor's real script: no HTTP polling, lockout within 2 s, and one dialog (the page's:
the SDK's own end dialog, drawn in the SDK's element, stays hidden), which leads to the
attempt's result page."""
from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.support.browser import current_attempt, open_exam, pass_prechecks


def test_console_end_locks_the_page_over_the_socket_within_two_seconds(page, stack):
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    host = stack.sandbox_url.split("://", 1)[1]
    assert any(url.startswith(f"ws://{host}/socket.io/") and "transport=websocket" in url
               for url in sockets), sockets

    to_sandbox: list[str] = []
    page.on("request", lambda r: r.url.startswith(stack.sandbox_url)
            and to_sandbox.append(f"{r.method} {r.url}"))
    page.wait_for_timeout(1500)  # a polling SDK would ask the server several times by now
    attempt = current_attempt(stack)
    began = time.monotonic()
    assert stack.console("POST", f"/sessions/{attempt.identifier}/stop").status_code == 200
    panel = page.get_by_role("alertdialog", name="Proctoring session ended")
    expect(panel).to_be_visible(timeout=2000)
    assert time.monotonic() - began < 2.0
    expect(panel).to_contain_text("A proctor (proctor) ended your proctoring session.")
    # Between the start and the end the SDK sent nothing but its periodic chat events.
    assert all(re.match(r"(POST|OPTIONS) .*/api/chat/", r) for r in to_sandbox), to_sandbox

    # The SDK drew its own end dialog (as the real build does) into its element, which the
    # page hides: the student sees one dialog, whose link goes to the attempt's result.
    expect(page.locator("#proctoring-ui").get_by_text("Session complete")).to_be_attached()
    expect(page.get_by_role("alertdialog")).to_have_count(1)
    for _ in range(50):
        if current_attempt(stack).state == "terminated":
            break
        page.wait_for_timeout(100)
    panel.get_by_role("button", name="See your result").click()
    page.wait_for_url(re.compile(rf"/attempts/{attempt.id}/result$"))
    expect(page.locator("#attempt-ended")).to_contain_text("contact your instructor")
    assert current_attempt(stack).state == "terminated"


def test_the_page_shows_when_the_proctoring_connection_drops(page, stack, console_errors):
    # While the socket is down the SDK keeps emitting metrics with n1 (no network) at 100.
    console_errors.allow(r"WebSocket connection to 'ws://.*/socket\.io/")
    down = {"now": False}
    live: list = []

    def route(ws):
        if down["now"]:
            ws.close()
            return
        ws.connect_to_server()
        live.append(ws)

    page.route_web_socket(re.compile(r"/socket\.io/"), route)
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    notice = page.get_by_role("alert").filter(has_text="connection to the proctoring service was lost")
    expect(notice).to_be_hidden()

    down["now"] = True
    for ws in live:
        ws.close()
    expect(notice).to_be_visible(timeout=5000)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()  # the test goes on


def test_the_test_is_shown_when_start_resolves_without_a_start_event(page, stack):
    # The page depends on start() resolving, never on the `start` event (contract §1.6).
    dropped: list[str] = []

    def route(ws):
        server = ws.connect_to_server()

        def to_page(message):
            if isinstance(message, str) and '"room:start"' in message:
                dropped.append(message)
                return
            ws.send(message)

        server.on_message(to_page)

    page.route_web_socket(re.compile(r"/socket\.io/"), route)
    open_exam(page, stack)
    pass_prechecks(page)
    expect(page.get_by_text("Question 1 of 7")).to_be_visible()
    assert dropped, "the sandbox sent no room:start to drop"

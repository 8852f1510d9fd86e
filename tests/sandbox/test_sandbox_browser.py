"""The stand-in SDK in a real Chromium, loaded cross-origin from the sandbox.

A tiny host page on another port plays the portal: it loads supervisor.js from the
sandbox, so CORS and bearer-only calls are exercised as in production.
"""
from __future__ import annotations

import html
import os
import shutil
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.sandbox.helpers import CONSOLE, JWT_SECRET, make_token
from tests.sandbox.live import serve_sandbox

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _chromium_or_skip() -> str:
    if os.path.exists(CHROMIUM) or shutil.which(CHROMIUM):
        return CHROMIUM
    reason = f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " and REQUIRE_BROWSER=1")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sandbox():
    base, app, shutdown = serve_sandbox({"SANDBOX_JWT_SECRET": JWT_SECRET, "SANDBOX_METRICS_PERIOD": 0.5})
    yield base, app
    shutdown()


@pytest.fixture(scope="module")
def host(sandbox):
    """The "portal": another origin serving pages that use the SDK."""
    base = sandbox[0]

    @Request.application
    def app(request: Request) -> Response:
        if request.path == "/auto":
            token = html.escape(request.args["token"])
            body = (f'<h1>Auto</h1><script src="{base}/sdk/supervisor.js" data-supervisor="start" '
                    f'data-provider="jwt" data-token="{token}" data-referrer="/back"></script>')
        elif request.path == "/back":
            body = "<h1>Back at the portal</h1>"
        else:
            body = f'<h1>Exam</h1><script src="{base}/sdk/supervisor.js"></script>'
        return Response(f"<!doctype html><html><body>{body}</body></html>", mimetype="text/html")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _require_chromium():
    _chromium_or_skip()


@pytest.fixture
def page(browser):
    """A fresh context per test, from pytest-playwright's session browser (one
    Playwright per test run: tests/conftest.py sets the Chromium path and flags)."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


SETUP = """([url, token]) => {
  window.events = [];
  window.sv = new Supervisor({url});
  ['start', 'stop', 'metrics', 'fail'].forEach(function (name) {
    sv.on(name, function (data) { window.events.push({name: name, data: data}); });
  });
  window.initResult = undefined;
  sv.init({provider: 'jwt', token: function () { return Promise.resolve(token); }})
    .then(function () { window.initResult = 'ok'; }, function (e) { window.initResult = e.message; });
}"""


def test_full_lifecycle_in_chromium(page, sandbox, host):
    base, _ = sandbox
    token = make_token(identifier="Browser01", referrer=f"{host}/back")
    page.goto(f"{host}/")
    # start() before init() rejects as the real SDK does.
    assert page.evaluate("new Supervisor({url: '%s'}).start().catch(e => e.message)" % base) == "Uninitialized"
    page.evaluate(SETUP, [base, token])
    page.get_by_role("heading", name="Proctoring rules").wait_for()
    page.get_by_role("button", name="I agree").click()
    page.get_by_role("heading", name="Equipment check").wait_for()
    page.wait_for_function("window.initResult !== undefined", timeout=5000)
    assert page.evaluate("window.initResult") == "ok"

    started = page.evaluate("sv.start().then(s => s.status)")
    assert started == "started"
    widget = page.locator("#supervisor-widget")
    widget.wait_for()
    assert widget.get_by_text("Sandbox: inject violation").is_visible()
    widget.get_by_role("button", name="Face not visible").click()
    page.wait_for_function(
        "window.events.some(e => e.name === 'metrics' && e.data.violated && e.data.peak === 'c2')",
        timeout=5000)
    event = page.evaluate("window.events.filter(e => e.name === 'metrics' && e.data.violated)[0].data")
    assert event["score"] == 20 and event["threshold"] == 50 and "weights" not in event
    page.wait_for_function("document.querySelector('#supervisor-widget [data-score]').textContent === '20'")

    answer = requests.post(f"{base}/console/api/sessions/Browser01/stop", auth=CONSOLE, timeout=5)
    assert answer.status_code == 200
    page.wait_for_function("window.events.some(e => e.name === 'stop')", timeout=5000)
    stop = page.evaluate("window.events.filter(e => e.name === 'stop')[0].data")
    assert stop["status"] == "stopped" and stop["proctor"] == "proctor"
    dialog = page.get_by_role("alertdialog")
    dialog.get_by_role("heading", name="Session finished").wait_for()
    assert "proctor" in dialog.inner_text()
    assert widget.count() == 0
    dialog.get_by_role("button", name="OK").click()
    page.wait_for_url(f"{host}/back")


def test_bad_token_rejects_init_with_status_and_message(page, sandbox, host):
    base, _ = sandbox
    page.goto(f"{host}/")
    page.evaluate(SETUP, [base, make_token(exp=int(time.time()) - 60)])
    page.wait_for_function("window.initResult !== undefined", timeout=5000)
    assert page.evaluate("window.initResult") == "401 Unauthorized: token expired"


def test_second_tab_blocks_the_first_and_page_stop_shows_no_dialog(browser, sandbox, host):
    base, _ = sandbox
    token = make_token(identifier="Browser02")
    context = browser.new_context()
    try:
        first = context.new_page()
        first.goto(f"{host}/")
        first.evaluate(SETUP, [base, token])
        first.get_by_role("button", name="I agree").click()
        first.wait_for_function("window.initResult === 'ok'", timeout=5000)
        first.evaluate("sv.start()")
        second = context.new_page()
        second.goto(f"{host}/")
        second.evaluate(SETUP, [base, token])
        second.wait_for_function("window.initResult === 'ok'", timeout=5000)  # resumed: no rules again
        first.get_by_role("heading", name="This page was opened elsewhere").wait_for(timeout=5000)
        assert second.get_by_text("This page was opened elsewhere").count() == 0
        # close() tears the UI down without ending; a later start() continues.
        second.evaluate("sv.start().then(() => sv.close())")
        assert second.locator("#supervisor-widget").count() == 0
        second.evaluate("sv.start()")
        second.locator("#supervisor-widget").wait_for()
        status = second.evaluate("sv.stop().then(s => s.status)")
        assert status == "stopped"
        assert second.locator("#supervisor-widget").count() == 0
        assert second.evaluate("window.events.filter(e => e.name === 'stop').length") == 1
        assert second.get_by_role("alertdialog").count() == 0
        assert second.evaluate("sv.logout()") == {"referer": None}
    finally:
        context.close()


def test_data_attribute_auto_start(page, sandbox, host):
    token = make_token(identifier="Browser03")
    page.goto(f"{host}/auto?token={token}")
    page.get_by_role("button", name="I agree").click()
    page.locator("#supervisor-widget").wait_for(timeout=5000)
    assert page.evaluate("window.supervisor instanceof Supervisor")
    session = requests.get(f"{sandbox[0]}/console/api/sessions/Browser03", auth=CONSOLE, timeout=5).json()
    assert session["status"] == "started"


def test_console_page_lists_and_ends_a_session(page, sandbox, host, receiver):
    base, _ = sandbox
    auth = requests.post(f"{base}/api/auth/jwt", timeout=5, headers={
        "Authorization": f"Bearer {make_token(identifier='Console01', api=receiver.url)}"}).json()
    requests.post(f"{base}/api/sessions/{auth['session']['id']}/start", timeout=5,
                  headers={"Authorization": f"Bearer {auth['token']}"})
    page.goto(f"{base}/")
    page.get_by_label("Username").fill("proctor")
    page.get_by_label("Password").fill("sandbox")
    page.get_by_role("button", name="Log in").click()
    row = page.locator('tr[data-identifier="Console01"]')
    row.wait_for(timeout=5000)
    assert "started" in row.inner_text()
    row.get_by_role("button", name="End session").click()
    page.wait_for_function(
        "document.querySelector('tr[data-identifier=\"Console01\"]').innerText.includes('stopped by proctor')",
        timeout=5000)
    # The webhook goes out and its HTTP status shows in the delivery log.
    page.wait_for_function("document.querySelector('#deliveries tbody').innerText.includes('HTTP 200')",
                           timeout=8000)
    assert receiver.requests[0]["json"]["proctor"] == "proctor"

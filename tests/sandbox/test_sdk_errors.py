"""How the stand-in SDK fails, in Chromium, as the real 3.20.5 build does (contract §1.6):
HTTP failures reject with a bare Error(statusText) (no name, no status), named errors come
only from the preliminary steps, calls before init() are refused, and a script tag's data
attributes start nothing (that build has no auto-start)."""
from __future__ import annotations

import time

import requests

from tests.support.sandbox import make_token
from tests.sandbox.sdk_page import INIT_SETTLED, SETUP


def test_http_failure_rejects_with_a_bare_error(page, console_errors, sandbox, host):
    base, _ = sandbox
    expired = make_token(identifier="Errors01", exp=int(time.time()) - 60)
    reason = requests.post(f"{base}/api/auth/jwt", headers={"Authorization": f"Bearer {expired}"}, timeout=5)
    assert reason.status_code == 401
    console_errors.allow(r"status of 401")
    page.goto(f"{host}/")
    page.evaluate(SETUP, [base, expired])
    page.wait_for_function(INIT_SETTLED, timeout=5000)
    # The status text of the answer, nothing else: no status, no name, no server message.
    assert page.evaluate("window.initResult") == {"error": {"name": "Error", "message": reason.reason,
                                                            "status": None}}
    assert page.evaluate("sv.state") == "idle"


def test_network_failure_rejects_with_request_error(page, console_errors, sandbox, host):
    """No answer at all (the real SDK's XHR sees status 0, no status text): "Request error"."""
    base, _ = sandbox
    console_errors.allow(r"ERR_CONNECTION_REFUSED|Failed to load resource")
    page.route(f"{base}/api/auth/jwt", lambda route: route.abort("connectionrefused"))
    page.goto(f"{host}/")
    page.evaluate(SETUP, [base, make_token(identifier="Errors02")])
    page.wait_for_function(INIT_SETTLED, timeout=5000)
    assert page.evaluate("window.initResult.error") == {"name": "Error", "message": "Request error",
                                                        "status": None}


def test_calls_before_init_are_refused(page, console_errors, sandbox, host):
    """start/stop/close: Error("Uninitialized"); logout() asks the server, which refuses."""
    refused = requests.post(f"{sandbox[0]}/api/auth/logout", timeout=5)
    assert refused.status_code == 401
    console_errors.allow(r"status of 401")
    page.goto(f"{host}/")
    results = page.evaluate("""url => {
      const sv = new Supervisor({url});
      const why = p => p.then(() => 'resolved', e => e.message);
      return Promise.all([why(sv.start()), why(sv.stop()), why(sv.close()), why(sv.logout())]);
    }""", sandbox[0])
    assert results == ["Uninitialized", "Uninitialized", "Uninitialized", refused.reason]


def test_equipment_check_rejects_init_with_the_named_error(page, sandbox, host, monkeypatch):
    base, app = sandbox
    monkeypatch.setitem(app.config, "SANDBOX_START_ERROR", "NoVideo")
    page.goto(f"{host}/")
    page.evaluate(SETUP, [base, make_token(identifier="Errors03")])
    page.get_by_role("button", name="I agree").click()
    check = page.get_by_role("dialog", name="Equipment check")
    check.wait_for()
    check.get_by_text("NoVideo: No webcam found").wait_for()
    page.wait_for_function(INIT_SETTLED, timeout=5000)
    error = page.evaluate("window.initResult.error")
    assert error["name"] == "NoVideo" and error["message"] and error["status"] is None
    assert page.get_by_role("dialog").count() == 0
    assert page.evaluate("sv.start().catch(e => e.message)") == "Uninitialized"


def test_data_attributes_start_nothing(page, sandbox, host):
    base, _ = sandbox
    to_sandbox: list[str] = []
    page.on("request", lambda r: r.url.startswith(base) and to_sandbox.append(r.url))
    page.goto(f"{host}/auto")
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.Supervisor") == "function"
    assert page.evaluate("typeof window.supervisor") == "undefined"
    assert to_sandbox == [f"{base}/sdk/supervisor.js"]
    assert page.get_by_role("dialog").count() == 0

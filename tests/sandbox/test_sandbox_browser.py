"""The stand-in SDK in a real Chromium, loaded cross-origin from the sandbox into an exam
page with the portal's kind of Content-Security-Policy (tests/sandbox/sdk_page.py).

It must behave as the vendor's 3.20.5 build does on the wire (contract §1.6): the page's
``stop`` arrives over the socket.io websocket within 2 s of the console's end, with no HTTP
polling; metrics come from a ``blob:`` Web Worker; the SDK's own dialog sends the browser
to the referer. Every CSP violation or unexpected console error fails a test (the browser
guard of tests/conftest.py).
"""
from __future__ import annotations

import json
import re
import time

import requests

from tests.support.sandbox import CONSOLE, make_token
from tests.sandbox.sdk_page import INIT_SETTLED, SETUP


def test_full_lifecycle_over_the_socket(page, sandbox, host):
    base, _ = sandbox
    workers: list[str] = []
    sockets: list[str] = []
    page.on("worker", lambda worker: workers.append(worker.url))
    page.on("websocket", lambda ws: sockets.append(ws.url))
    calls: list[str] = []  # every call to the sandbox but CORS preflights, path only
    page.on("request", lambda r: r.url.startswith(base) and r.method != "OPTIONS"
            and calls.append(f"{r.method} {r.url[len(base):]}"))
    token = make_token(identifier="Browser01", referrer=f"{host}/back")
    page.goto(f"{host}/")
    # start() before init() rejects as the real SDK does.
    assert page.evaluate("url => new Supervisor({url}).start().catch(e => e.message)", base) == "Uninitialized"

    page.evaluate(SETUP, [base, token])
    rules = page.get_by_role("dialog", name="Proctoring rules")
    rules.wait_for()
    assert page.evaluate("() => document.activeElement.textContent") == "I agree"  # focus moved in
    rules.get_by_role("button", name="I agree").click()
    page.get_by_role("dialog", name="Equipment check").wait_for()
    page.wait_for_function(INIT_SETTLED, timeout=5000)
    assert set(page.evaluate("window.initResult")) == {"token"}
    assert calls == ["GET /sdk/supervisor.js", "POST /api/auth/jwt", "GET /api/auth", "GET /api/user/me",
                     "GET /api/room/fetch", "GET /api/config/sdk"]
    del calls[:]
    host_name = base.split("://", 1)[1]
    assert any(url.startswith(f"ws://{host_name}/socket.io/") and "transport=websocket" in url
               for url in sockets), sockets

    room = page.evaluate("sv.start()")
    assert room["id"] == "Browser01" and room["startedAt"]
    assert calls == ["POST /api/room/start?id=Browser01",
                     "GET /api/chat/Browser01?filter[type]=message&limit=20&skip=0"]
    # The page's start event comes from the socket's room:start, not from start() itself.
    page.wait_for_function("() => window.events.some(e => e.name === 'start')", timeout=2000)
    started = time.monotonic()
    to_sandbox: list[str] = []
    page.on("request", lambda r: r.url.startswith(base) and to_sandbox.append(f"{r.method} {r.url}"))

    widget = page.get_by_role("region", name="Proctoring")
    widget.wait_for()
    assert widget.get_by_text("Sandbox: inject violation").is_visible()
    page.wait_for_function("() => window.events.some(e => e.name === 'metrics')", timeout=5000)
    assert any(url.startswith("blob:") for url in workers), workers  # the tracker's worker
    widget.get_by_role("button", name="Face not visible").click()
    page.wait_for_function(
        "() => window.events.some(e => e.name === 'metrics' && e.data.violated && e.data.peak === 'c2')",
        timeout=5000)
    event = page.evaluate("window.events.filter(e => e.name === 'metrics' && e.data.violated)[0].data")
    assert event["score"] == 20 and event["metrics"]["c2"] == 80 and event["threshold"] == 50
    assert event["metrics"]["n1"] == 0 and "weights" not in event  # the socket is up
    assert event["metrics"]["c1"] == 0  # the (fake) camera runs, and shows in the widget
    assert page.evaluate("() => document.querySelector('#supervisor-widget video').srcObject.active")
    page.wait_for_function(
        "() => document.querySelector('#supervisor-widget [data-score]').getAttribute('data-score') === '20'")

    page.wait_for_timeout(max(0.0, 1.5 - (time.monotonic() - started)) * 1000)  # a poller would have asked by now
    before_end = list(to_sandbox)
    began = time.monotonic()
    assert requests.post(f"{base}/console/api/sessions/Browser01/stop", auth=CONSOLE, timeout=5).status_code == 200
    page.wait_for_function("() => window.events.some(e => e.name === 'stop')", timeout=2000)
    dialog = page.get_by_role("alertdialog", name="Session complete")
    dialog.wait_for(timeout=2000)
    assert time.monotonic() - began < 2.0
    stop = page.evaluate("window.events.filter(e => e.name === 'stop')[0].data")
    assert stop["id"] == "Browser01" and stop["proctor"] == "proctor"
    assert "The session was terminated by the proctor." in dialog.inner_text()
    assert widget.count() == 0
    # Nothing but the widget's injection (and CORS preflights) went over HTTP meanwhile.
    others = [r for r in to_sandbox
              if not re.match(rf"(POST|OPTIONS) {re.escape(base)}/api/(chat/Browser01|sandbox/violation\?id=Browser01)$", r)]
    assert others == [], others

    # Like the real SDK, the tracker's last metrics go out as a chat event at the end.
    for _ in range(20):
        if f"POST {base}/api/chat/Browser01" in to_sandbox[len(before_end):]:
            break
        page.wait_for_timeout(100)
    assert f"POST {base}/api/chat/Browser01" in to_sandbox[len(before_end):], to_sandbox

    assert page.evaluate("() => document.activeElement.textContent") == "OK"
    dialog.get_by_role("button", name="OK").click()
    page.wait_for_url(f"{host}/back")


def test_chat_events_carry_the_metrics_every_event_period(page, sandbox, host):
    """Every ``tracker.eventPeriod`` s, and at stop(), ``POST /api/chat/<room>`` {type: event}."""
    base, _ = sandbox
    posted: list[dict] = []
    kinds: set[str] = set()

    def record(r):
        if r.method == "POST" and "/api/chat/Browser04" in r.url:
            posted.append(json.loads(r.post_data))
            kinds.add(r.headers["content-type"])

    page.on("request", record)

    def short_event_period(route):
        answer = route.fetch()
        config = answer.json()
        config["tracker"]["eventPeriod"] = 0.6
        route.fulfill(response=answer, json=config)

    page.route(f"{base}/api/config/sdk", short_event_period)
    page.goto(f"{host}/")
    page.evaluate(SETUP, [base, make_token(identifier="Browser04")])
    page.get_by_role("button", name="I agree").click()
    page.wait_for_function(INIT_SETTLED, timeout=5000)
    page.evaluate("sv.start()")
    page.wait_for_timeout(1600)
    assert len(posted) >= 1
    page.evaluate("sv.stop()")
    assert len(posted) >= 2
    for body in posted:
        assert body["type"] == "event"
        # `peak` is undefined (so left out) while every metric is 0, as in the real SDK.
        assert {"metrics", "threshold", "violated"} <= set(body["metadata"]) <= {
            "metrics", "peak", "threshold", "violated"}
        assert body["metadata"]["threshold"] == 50
    assert kinds == {"application/json; charset=utf-8"}
    timeline = requests.get(f"{base}/console/api/sessions/Browser04", auth=CONSOLE, timeout=5).json()
    assert timeline["status"] == "stopped"


def test_console_page_lists_and_ends_a_session(page, sandbox, receiver):
    base, _ = sandbox
    login = requests.post(f"{base}/api/auth/jwt", timeout=5, headers={
        "Authorization": f"Bearer {make_token(identifier='Console01', api=receiver.url)}"})
    assert login.status_code == 200, login.text
    started = requests.post(f"{base}/api/room/start?id=Console01", timeout=5,
                            headers={"Authorization": f"Bearer {login.json()['token']}"})
    assert started.status_code == 200, started.text
    page.goto(f"{base}/")
    page.get_by_label("Username").fill("proctor")
    page.get_by_label("Password").fill("sandbox")
    page.get_by_role("button", name="Log in").click()
    row = page.locator('tr[data-identifier="Console01"]')
    row.wait_for(timeout=5000)
    assert "started" in row.inner_text()
    row.get_by_role("button", name="End session").click()
    page.wait_for_function(
        "() => document.querySelector('tr[data-identifier=\"Console01\"]').innerText.includes('stopped by proctor')",
        timeout=5000)
    # The webhook goes out and its HTTP status shows in the delivery log.
    page.wait_for_function("() => document.querySelector('#deliveries tbody').innerText.includes('HTTP 200')",
                           timeout=8000)
    assert receiver.requests[0]["json"]["proctor"] == "proctor"

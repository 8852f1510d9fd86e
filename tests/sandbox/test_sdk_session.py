"""The stand-in SDK's session in Chromium: a second tab supersedes the first (learnt from
``room:start``), close() and a later start() continue, stop() and logout() end it and close
the socket, the console's injections and the server's ends arrive over the socket, and
without a socket the metrics report n1 (no network) = 100, as the real 3.20.5 build does
under a policy that blocks its websocket."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import requests

from tests.support.sandbox import CONSOLE, make_token
from tests.sandbox.sdk_page import INIT_SETTLED, SETUP


def _open(page, base: str, host: str, token: str, rules: bool = True, path: str = "/"):
    page.goto(f"{host}{path}")
    page.evaluate(SETUP, [base, token])
    if rules:
        page.get_by_role("button", name="I agree").click()
    page.wait_for_function(INIT_SETTLED, timeout=5000)
    assert "token" in page.evaluate("window.initResult"), page.evaluate("window.initResult")


def _wait_closed(ws, timeout: float = 5000) -> None:
    if not ws.is_closed():
        ws.wait_for_event("close", timeout=timeout)


def test_the_camera_is_asked_for_and_retried_while_missing(page, sandbox, host):
    """640x480 at 10 fps with the microphone; without a camera start() still resolves, c1 is
    100, and the SDK asks again every 5 s."""
    base, _ = sandbox
    page.add_init_script("""
      window.cameraCalls = [];
      navigator.mediaDevices.getUserMedia = function (constraints) {
        window.cameraCalls.push(constraints);
        return Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));
      };""")
    _open(page, base, host, make_token(identifier="Session06"))
    assert page.evaluate("sv.start().then(room => room.id)") == "Session06"
    page.wait_for_function("() => window.events.some(e => e.name === 'metrics')", timeout=5000)
    event = page.evaluate("window.events.filter(e => e.name === 'metrics')[0].data")
    assert event["metrics"]["c1"] == 100 and event["peak"] == "c1"
    assert page.evaluate("window.cameraCalls") == [
        {"video": {"width": 640, "height": 480, "frameRate": 10}, "audio": True}]
    page.wait_for_function("() => window.cameraCalls.length >= 2", timeout=7000)


def test_second_tab_blocks_the_first(page, context, sandbox, host):
    base, _ = sandbox
    token = make_token(identifier="Session01")
    _open(page, base, host, token)
    first_room = page.evaluate("sv.start()")
    page.get_by_role("region", name="Proctoring").wait_for()

    second = context.new_page()
    _open(second, base, host, token, rules=False)  # a started session skips the steps
    second_room = second.evaluate("sv.start()")
    assert second_room["updatedAt"] != first_room["updatedAt"]

    blocked = page.get_by_role("alertdialog", name="Session is blocked")
    blocked.wait_for(timeout=2000)
    assert "This page was opened elsewhere, close this tab." in blocked.inner_text()
    assert page.get_by_role("region", name="Proctoring").count() == 0
    assert page.evaluate("sv.state") == "superseded"
    assert second.get_by_role("alertdialog").count() == 0
    assert second.evaluate("sv.state") == "started"


def test_close_then_start_continues_and_stop_logout_close_the_socket(page, sandbox, host):
    base, _ = sandbox
    sockets = []
    sent: list[list] = []  # the socket.io events the SDK emitted, [name, data]

    def record(ws):
        sockets.append(ws)
        ws.on("framesent", lambda payload: isinstance(payload, str) and payload.startswith("42")
              and sent.append(json.loads(payload[2:])))

    page.on("websocket", record)
    _open(page, base, host, make_token(identifier="Session02", referrer=f"{host}/back", group="G1"))
    assert sent == [["join", "student-1"], ["join", "G1"]]
    page.evaluate("sv.start()")
    page.evaluate("sv.close()")
    assert page.get_by_role("region", name="Proctoring").count() == 0
    assert page.evaluate("sv.state") == "ready"
    assert page.evaluate("sv.start().then(room => room.id)") == "Session02"
    page.get_by_role("region", name="Proctoring").wait_for()

    invoke = ["p2p:invoke", {"to": "Session02", "rid": "Session02", "uid": "student-1"}]
    broadcast = ["p2p:broadcast", invoke[1]]
    assert sent[2:6] == [["webcall:broadcasts", "Session02"], ["join", "Session02"], invoke, broadcast]

    del sent[:]
    room = page.evaluate("sv.stop()")
    assert room["id"] == "Session02"
    assert sent == [["p2p:dispose", {"to": "Session02", "id": "Session02"}], ["leave", "Session02"]]
    session = requests.get(f"{base}/console/api/sessions/Session02", auth=CONSOLE, timeout=5).json()
    assert session["status"] == "stopped"
    page.wait_for_timeout(300)  # a room:stop of our own stop() must not bring the dialog
    assert page.get_by_role("alertdialog").count() == 0
    assert page.get_by_role("region", name="Proctoring").count() == 0

    assert [ws.is_closed() for ws in sockets] == [False]
    assert page.evaluate("sv.logout()") == {"referer": f"{host}/back"}
    _wait_closed(sockets[0])
    assert page.evaluate("sv.state") == "loggedOut"
    # The session token died with the logout; the SDK is uninitialized again.
    assert page.evaluate("sv.start().catch(e => e.message)") == "Uninitialized"


def test_without_a_socket_the_metrics_report_no_network(page, console_errors, sandbox, host):
    """Under the portal's old policy, which blocked the websocket (issue 11), the real SDK
    swallows the failed socket: init() resolves, no start event, n1 (no network) is 100."""
    base, _ = sandbox
    console_errors.allow(r"violates the following Content Security Policy directive: \"connect-src")
    _open(page, base, host, make_token(identifier="Session03"), path="/no-socket")
    room = page.evaluate("sv.start()")
    assert room["id"] == "Session03"
    page.wait_for_function("() => window.events.some(e => e.name === 'metrics')", timeout=5000)
    event = page.evaluate("window.events.filter(e => e.name === 'metrics')[0].data")
    assert event["metrics"]["n1"] == 100 and event["peak"] == "n1"
    assert event["score"] == 0 and event["violated"] is True
    # No room:start can arrive without the socket: the page's start event never fires.
    assert page.evaluate("window.events.some(e => e.name === 'start')") is False
    # The policy blocked the websocket and nothing else; the guard need not report it again.
    host_name = base.split("://", 1)[1]
    assert console_errors.violations
    assert {(v["directive"], v["blocked"].split("/socket.io/")[0]) for v in console_errors.violations} == {
        ("connect-src", f"ws://{host_name}")}
    console_errors.violations.clear()


def test_console_injection_arrives_over_the_socket(page, sandbox, host):
    """The proctor console's violation reaches the tracker as ``sandbox:inject``, no HTTP."""
    base, _ = sandbox
    _open(page, base, host, make_token(identifier="Session04"))
    page.evaluate("sv.start()")
    page.wait_for_function("() => window.events.some(e => e.name === 'metrics')", timeout=5000)
    to_sandbox: list[str] = []
    page.on("request", lambda r: r.url.startswith(base) and to_sandbox.append(r.url))
    answer = requests.post(f"{base}/console/api/sessions/Session04/violation", auth=CONSOLE, timeout=5,
                           json={"metric": "c3", "value": 70})
    assert answer.status_code == 200
    page.wait_for_function(
        "() => window.events.some(e => e.name === 'metrics' && e.data.metrics.c3 === 70)", timeout=5000)
    event = page.evaluate("window.events.filter(e => e.name === 'metrics' && e.data.metrics.c3 === 70)[0].data")
    assert event["peak"] == "c3" and event["score"] == 30 and event["violated"] is True
    assert to_sandbox == []


def test_an_automatic_end_shows_the_automatic_wording(page, sandbox, host):
    """A deadline ends the started session: ``room:stop`` without ``proctor``."""
    base, _ = sandbox
    deadline = datetime.now(timezone.utc) + timedelta(seconds=4)
    token = make_token(identifier="Session05", referrer=f"{host}/back",
                       deadline=deadline.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    _open(page, base, host, token)
    page.evaluate("sv.start()")
    dialog = page.get_by_role("alertdialog", name="Session complete")
    dialog.wait_for(timeout=8000)
    assert "The session was terminated automatically." in dialog.inner_text()
    stop = page.evaluate("window.events.filter(e => e.name === 'stop')[0].data")
    assert stop["id"] == "Session05" and "proctor" not in stop
    dialog.get_by_role("button", name="OK").click()
    page.wait_for_url(f"{host}/back")


def test_stop_and_close_during_start_wait_for_it(page, sandbox, host):
    """One state machine: a stop() or close() made while start() runs applies after it."""
    base, _ = sandbox
    _open(page, base, host, make_token(identifier="Session07"))
    states = page.evaluate("""() => {
      const started = sv.start();
      const closed = sv.close().then(() => sv.state);
      return Promise.all([started.then(() => 'resolved'), closed]);
    }""")
    assert states == ["resolved", "ready"]
    assert page.get_by_role("region", name="Proctoring").count() == 0
    stopped = page.evaluate("""() => {
      const started = sv.start();
      const stopped = sv.stop().then(room => [room.id, sv.state]);
      return Promise.all([started.then(room => room.id), stopped]);
    }""")
    assert stopped == ["Session07", ["Session07", "stopped"]]
    assert page.get_by_role("region", name="Proctoring").count() == 0
    session = requests.get(f"{base}/console/api/sessions/Session07", auth=CONSOLE, timeout=5).json()
    assert session["status"] == "stopped"

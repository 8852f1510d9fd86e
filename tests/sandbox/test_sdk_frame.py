"""Token links in Chromium: a ``url`` in the room makes the stand-in's start() cover the
page with that URL in a full-page IFRAME, as the vendor's 3.20.5 build does (contract
§1.6), with the build's bar above it (the room's ``finish`` add-on): Home page reloads the
test's first page; Finish asks "Finish the session?" and Yes runs stop() and sends the
browser to the user's referer. The sandbox's token-link page draws nothing of its own
(the same page works with the vendor's build), and says what to do when a start fails."""
from __future__ import annotations

import requests

from tests.support.sandbox import CONSOLE, make_token


def _open_link(page, base: str, token: str, rules: bool = True) -> None:
    page.goto(f"{base}/api/auth/jwt?token={token}")
    if rules:
        page.get_by_role("button", name="I agree").click()


def _status(base: str, identifier: str) -> str:
    return requests.get(f"{base}/console/api/sessions/{identifier}", auth=CONSOLE, timeout=5).json()["status"]


def test_the_room_url_is_framed_over_the_page_and_finish_asks_then_stops(page, sandbox, host):
    base, _ = sandbox
    calls: list[str] = []  # every call to the sandbox but CORS preflights, path only
    page.on("request", lambda r: r.url.startswith(base) and r.method != "OPTIONS"
            and calls.append(f"{r.method} {r.url[len(base):]}"))
    _open_link(page, base, make_token(identifier="Frame01", url=f"{host}/framed", referrer=f"{host}/back"))

    frame = page.frame_locator("iframe[title='Algebra']")  # the room's subject names it
    frame.get_by_role("heading", name="Framed test").wait_for(timeout=5000)
    assert page.locator("iframe").count() == 1  # framed once: by the SDK, not by the page
    assert page.evaluate("supervisor.state") == "started"
    # Full page: the bar and the frame fill the viewport, and the page is covered.
    cover = page.evaluate("""() => {
      const view = document.querySelector('iframe').parentElement.getBoundingClientRect();
      const frame = document.querySelector('iframe').getBoundingClientRect();
      const hit = document.elementFromPoint(innerWidth / 2, innerHeight / 2);
      return {view: [view.left, view.top, view.width, view.height], size: [innerWidth, innerHeight],
              frameBottom: frame.bottom, hit: hit.tagName};
    }""")
    assert cover["view"] == [0, 0, *cover["size"]]
    assert cover["frameBottom"] == cover["size"][1] and cover["hit"] == "IFRAME"
    assert page.locator("#frame-status").inner_text() == "Proctoring started: the test is shown over this page."
    bar = page.get_by_role("toolbar", name="Proctored test")
    assert "Ada Lovelace [Algebra]" in bar.inner_text() and "#Frame01" in bar.inner_text()
    assert page.get_by_role("region", name="Proctoring").is_visible()  # the widget stays above it

    # Home page: back to the test's first page, wherever the student went inside it.
    frame.get_by_role("link", name="Next page").click()
    frame.get_by_role("heading", name="Second page").wait_for()
    bar.get_by_role("button", name="Home page").click()
    frame.get_by_role("heading", name="Framed test").wait_for()

    # Finish asks first; No changes nothing.
    bar.get_by_role("button", name="Finish").click()
    confirm = page.get_by_role("alertdialog", name="Completion of the session")
    confirm.wait_for()
    assert "Finish the session?" in confirm.inner_text()
    assert "Once completed, you will not be able to continue." in confirm.inner_text()
    assert page.evaluate("() => document.activeElement.textContent") == "No"  # the safe answer first
    bar.get_by_role("button", name="Finish").click(force=True)  # a second press asks no twice
    assert page.get_by_role("alertdialog").count() == 1
    del calls[:]
    confirm.get_by_role("button", name="No").click()
    assert page.get_by_role("alertdialog").count() == 0
    assert page.evaluate("supervisor.state") == "started" and _status(base, "Frame01") == "started"
    assert not any("/api/room/stop" in call for call in calls)

    # Yes: stop(), then the browser goes to the referer. As in the real build, Finish does
    # not call logout() (its session token simply dies with the page).
    bar.get_by_role("button", name="Finish").click()
    confirm.get_by_role("button", name="Yes").click()
    page.wait_for_url(f"{host}/back")
    assert "POST /api/room/stop?id=Frame01" in calls
    assert "POST /api/auth/logout" not in calls
    assert _status(base, "Frame01") == "stopped"


def test_a_server_end_takes_the_frame_away(page, sandbox, host):
    """A proctor's end: the frame goes with the run, then the SDK's own dialog, OK -> referer."""
    base, _ = sandbox
    _open_link(page, base, make_token(identifier="Frame02", url=f"{host}/framed", referrer=f"{host}/back"))
    page.frame_locator("iframe").get_by_role("heading", name="Framed test").wait_for(timeout=5000)
    assert requests.post(f"{base}/console/api/sessions/Frame02/stop", auth=CONSOLE, timeout=5).status_code == 200
    dialog = page.get_by_role("alertdialog", name="Session complete")
    dialog.wait_for(timeout=2000)
    assert "The session was terminated by the proctor." in dialog.inner_text()
    assert page.locator("iframe").count() == 0
    assert page.get_by_role("toolbar", name="Proctored test").count() == 0
    dialog.get_by_role("button", name="OK").click()
    page.wait_for_url(f"{host}/back")


def test_a_room_without_url_frames_nothing_and_has_no_finish_addon(page, sandbox, host):
    """The SDK page's tokens carry no url: start() leaves the page alone."""
    base, _ = sandbox
    page.goto(f"{host}/")
    page.evaluate("""([url, token]) => {
      window.sv = new Supervisor({url});
      window.started = sv.init({token}).then(() => sv.start());
    }""", [base, make_token(identifier="Frame03")])
    page.get_by_role("button", name="I agree").click()
    room = page.evaluate("window.started")
    assert room["url"] is None and "finish" not in room["addons"]
    page.get_by_role("region", name="Proctoring").wait_for()
    assert page.locator("iframe").count() == 0
    assert page.get_by_role("toolbar").count() == 0


def test_a_failed_start_says_what_to_do(page, sandbox, host, monkeypatch):
    base, app = sandbox
    monkeypatch.setitem(app.config, "SANDBOX_START_ERROR", "NoVideo")
    _open_link(page, base, make_token(identifier="Frame04", url=f"{host}/framed", referrer=f"{host}/back"))
    status = page.locator("#frame-status").filter(has_text="Proctoring could not start")
    status.wait_for(timeout=5000)
    assert status.inner_text() == "Proctoring could not start: No webcam found"
    assert "Fix the problem above (camera, microphone, screen or network), then reload this page." in (
        page.locator("#frame-advice").inner_text())
    assert page.get_by_role("link", name="Back to the portal").get_attribute("href") == f"{host}/back"
    assert page.locator("iframe").count() == 0  # no test without proctoring

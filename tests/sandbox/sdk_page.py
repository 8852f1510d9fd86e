"""A stand-in exam page for the SDK's browser tests: another origin, with the portal's kind
of Content-Security-Policy, that loads ``/sdk/supervisor.js`` from the sandbox.

The policy is the one the real SDK needs and nothing wider (contract §1.6): scripts from the
proctoring origin, its ``ws://`` form in ``connect-src``, ``worker-src 'self' blob:``, no
inline script and no eval. A page under it can run only what the vendor's script could, so
the browser guard of tests/conftest.py (every CSP violation fails a test) proves that the
stand-in needs no more than that.

Tests drive the SDK with ``page.evaluate`` (Playwright's evaluation is not subject to the
page's CSP); ``wait_for_function`` takes function source (``"() => ..."``), never an
expression, because an expression is compiled with eval, which the policy forbids.
"""
from __future__ import annotations

from typing import Callable

from werkzeug.wrappers import Request, Response

from tests.support.live import serve

# Creates window.sv and records every SDK event in window.events; init() settles into
# window.initResult: {token} or {error: {name, message, status}}.
SETUP = """([url, token]) => {
  window.events = [];
  window.sv = new Supervisor({url});
  ['start', 'stop', 'metrics', 'chat'].forEach(function (name) {
    sv.on(name, function (data) { window.events.push({name: name, data: data}); });
  });
  window.initResult = undefined;
  sv.init({provider: 'jwt', token: function () { return Promise.resolve(token); }})
    .then(function (result) { window.initResult = result; },
          function (e) { window.initResult = {error: {name: e.name, message: e.message,
                                                        status: e.status === undefined ? null : e.status}}; });
}"""

INIT_SETTLED = "() => window.initResult !== undefined"


def content_security_policy(sandbox_url: str, websocket: bool = True) -> str:
    """The portal's policy for a page that runs the SDK of ``sandbox_url``; without
    ``websocket``, the portal's old policy that blocked the SDK's socket (issue 11)."""
    scheme, _, rest = sandbox_url.partition("://")
    socket = ("wss" if scheme == "https" else "ws") + "://" + rest if websocket else ""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {sandbox_url}",
        f"style-src 'self' 'unsafe-inline' {sandbox_url}",
        f"img-src 'self' data: blob: {sandbox_url}",
        f"media-src 'self' blob: {sandbox_url}",
        f"connect-src 'self' {sandbox_url} {socket}".rstrip(),
        "worker-src 'self' blob:",
        f"frame-src {sandbox_url}",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ])


def serve_exam_page(sandbox_url: str) -> tuple[str, Callable[[], None]]:
    """Serve the exam page on a free loopback port; return (base_url, shutdown).

    ``/`` loads the SDK; ``/no-socket`` too, under a policy without the websocket;
    ``/auto`` loads it with the data attributes of an auto-start (which the real 3.20.5
    build ignores); ``/back`` is where a referer points; ``/framed`` (with a link to
    ``/framed/next``) is a token's ``url``, a test page the sandbox may frame.
    """
    policies = {True: content_security_policy(sandbox_url),
                False: content_security_policy(sandbox_url, websocket=False)}
    script = f'<script src="{sandbox_url}/sdk/supervisor.js"'

    @Request.application
    def app(request: Request) -> Response:
        frame_ancestors = None
        if request.path == "/back":
            body = "<h1>Back at the portal</h1>"
        elif request.path == "/framed":
            body, frame_ancestors = '<h1>Framed test</h1><a href="/framed/next">Next page</a>', sandbox_url
        elif request.path == "/framed/next":
            body, frame_ancestors = "<h1>Second page</h1>", sandbox_url
        elif request.path == "/auto":
            body = (f'<h1>Auto</h1>{script} data-supervisor="start" data-provider="jwt" '
                    f'data-token="unused" data-referrer="/back"></script>')
        elif request.path in ("/", "/no-socket"):
            body = f"<h1>Exam</h1>{script}></script>"
        else:
            return Response("not found", status=404)
        page = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Exam</title>'
                f'<link rel="icon" href="data:,"></head><body>{body}</body></html>')
        response = Response(page, mimetype="text/html")
        policy = policies[request.path != "/no-socket"]
        if frame_ancestors:  # what the portal's framed page allows: framing by the proctoring origin
            policy = policy.replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")
        response.headers["Content-Security-Policy"] = policy
        return response

    return serve(app, "sdk-exam-page")

"""Serve a WSGI app (the portal, the sandbox, a test's receiver) for real on a free
loopback port, in a daemon thread: `serve`, the one live server of the tests;
`serve_sandbox` starts the sandbox on it.

Usage::

    from tests.support.live import serve_sandbox
    base_url, app, shutdown = serve_sandbox({"SANDBOX_METRICS_PERIOD": 0.5})
    ...
    shutdown()

The server is werkzeug's, threaded, in a daemon thread, and serves the socket.io
websocket too (``ws://127.0.0.1:<port>/socket.io/?token=<session token>``); the
sandbox's background sender runs (webhooks and reviews are really sent, retries happen). Defaults: an
in-memory database, ``SANDBOX_PUBLIC_URL`` = the returned base URL, and
``SANDBOX_RETRY_BASE`` 0.2 s; ``config`` overrides any ``SANDBOX_*`` setting.

The console JSON API (HTTP Basic with SANDBOX_CONSOLE_USER/PASSWORD, default
``proctor``/``sandbox``), for driving the proctor's side from a test:

- ``GET  /console/api/sessions``: Supervisor sessions (identifier, status, stoppedBy,
  proctor, score, metrics, injected, lastDelivery, report link ...), newest first.
- ``GET  /console/api/sessions/<identifier>``: one session plus ``timeline`` and ``deliveries``.
- ``POST /console/api/sessions/<identifier>/stop``: proctor ends it (the page gets
  ``room:stop`` with ``proctor`` = the console user); 409 if already ended.
- ``POST /console/api/sessions/<identifier>/conclusion`` ``{"status": "accepted"|"rejected",
  "comment": "..."}``: on an ended session; a webhook follows.
- ``POST /console/api/sessions/<identifier>/violation`` ``{"metric": "c2", "value": 80}``
  or ``{"clear": true}``: later metric samples include it; the page gets ``sandbox:inject``.
- ``GET  /console/api/deliveries[?identifier=...&kind=webhook|review]``: every delivery
  with its ``attempts`` (at, status, error, body, ms).
- ``GET|POST /console/api/faults`` ``{"finish": "503:2"}``: pending finish-call faults
  (``503:N`` or any 5xx, ``drop:N``, ``delay:SECONDS:N``; comma-chained; ``""`` clears).
- ``GET  /console/api/constructor/calls``: finish/status calls received (at, kind,
  sessionId, authOk, outcome).
- ``GET|POST /console/api/constructor/sessions`` (POST ``{"sessionId", "accountId"}``
  creates a scheduled, not started session), ``POST .../constructor/sessions/<id>/conclusion``
  ``{"conclusion", "comment"}``, ``POST .../constructor/sessions/<id>/warning`` ``{"type"}``.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox import create_app
from sandbox.realtime import realtime_of
from sandbox.worker import stop_worker


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, but a connection that carried a websocket is closed after it.

    Otherwise werkzeug reads the client's websocket close frame as a new HTTP request,
    logs it as a bad request, and the client waits seconds for the connection to end.
    """

    def run_wsgi(self) -> None:
        super().run_wsgi()
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.close_connection = True


def serve(app, name: str = "live", poll_interval: float = 0.5) -> tuple[str, Callable[[], None]]:
    """Start `app` on 127.0.0.1:<free port>; return (base_url, shutdown)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_RequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval},
                              name=name, daemon=True)
    thread.start()

    def shutdown() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}", shutdown


def serve_sandbox(config: dict[str, Any] | None = None) -> tuple[str, Flask, Callable[[], None]]:
    """Start the sandbox on ``127.0.0.1:<free port>``; return (base_url, app, shutdown)."""
    settings: dict[str, Any] = {"SANDBOX_DATABASE": ":memory:", "SANDBOX_RETRY_BASE": 0.2,
                                "SANDBOX_BACKGROUND": True}
    settings.update(config or {})
    app = create_app(settings)
    base_url, stop_server = serve(app, "sandbox-live", poll_interval=0.1)
    if not settings.get("SANDBOX_PUBLIC_URL"):
        # Before any request reaches it: the caller gets the URL only on return.
        app.config["SANDBOX_PUBLIC_URL"] = base_url

    def shutdown() -> None:
        stop_server()
        realtime_of(app).stop()
        stop_worker(app)
        app.extensions["sandbox_store"].close()

    return base_url, app, shutdown

"""The sandbox: a stand-in proctoring server (Supervisor SDK + Constructor Proctor).

It behaves towards the portal as the real servers do and meets it over HTTP only; it
never imports ``portal``. ``create_app`` is the fixed factory name; the app it returns
serves the socket.io endpoint too (``gunicorn -w 1 --threads 100 "sandbox:create_app()"``:
one process, a thread per open websocket).
"""
from __future__ import annotations

import logging
import os
from typing import Any

import requests
from flask import Flask, jsonify, request

from . import realtime
from .config import load_settings
from .store import Store


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the sandbox app: settings, store, socket.io server, blueprints. No I/O happens here.

    The database schema is created on first use, the background sender starts on
    the first request (unless ``SANDBOX_BACKGROUND`` is off, the default in testing)
    and the socket heartbeat on the first socket. Raises ConfigError for a bad setting.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_pyfile("sandbox_config.py", silent=True)
    testing = bool((test_config or {}).get("TESTING", app.config.get("TESTING", False)))
    app.config.update(load_settings(os.environ, test_config, app.instance_path, app.config))
    if app.config["SANDBOX_BACKGROUND"] is None:
        app.config["SANDBOX_BACKGROUND"] = not testing
    # The portal runs on the same host: ports do not separate cookies, names must.
    app.config.update(SESSION_COOKIE_NAME="sandbox_console", SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_HTTPONLY=True)
    if testing:
        app.config["TESTING"] = True

    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    configure_logging()
    return app


def configure_logging() -> None:
    """One INFO line per delivery try on stderr, unless the host (pytest, a config) logs already."""
    logger = logging.getLogger("sandbox")
    logger.setLevel(logging.INFO)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)


def register_extensions(app: Flask) -> None:
    """The store, the one outbound HTTP session, the socket.io server (wraps ``wsgi_app``)."""
    app.extensions["sandbox_store"] = Store(app.config["SANDBOX_DATABASE"])
    http = requests.Session()
    http.headers["User-Agent"] = "proctoring-sandbox/1.0"
    app.extensions["sandbox_http"] = http
    realtime.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .console.api import bp as console_api
    from .console.views import bp as console_views
    from .constructor.views import bp as constructor
    from .supervisor.api import bp as supervisor_api
    from .supervisor.links import bp as links
    from .supervisor.rooms import bp as supervisor_rooms
    from .supervisor.sdk import bp as sdk

    for bp in (supervisor_api, supervisor_rooms, sdk, links, console_views, console_api, constructor):
        app.register_blueprint(bp)


def register_hooks(app: Flask) -> None:
    """Per-request session checks, the lazy background thread, JSON errors for APIs."""
    from . import worker

    @app.before_request
    def _tick() -> None:
        if app.config["SANDBOX_BACKGROUND"]:
            worker.ensure_started(app)
        # Deadlines and timeouts hold even when the background thread is off (tests).
        realtime.check_sessions(app)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _http_error(exc):
        if request.path.startswith(("/api/", "/console/api/")):
            return jsonify({"error": exc.description}), exc.code
        return exc

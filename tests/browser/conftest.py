"""Real-browser fixtures: the portal and the sandbox proctoring server served for real on
two loopback origins, and Playwright driving Debian's Chromium.

Chromium is /usr/bin/chromium (or CHROMIUM_PATH). Without it these tests skip with a
reason, unless REQUIRE_BROWSER=1, which turns the skip into a failure (CI sets it).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any, Callable

import pytest
import requests

from portal.site.demo import load_demo_data
from portal.extensions import db
from tests.support.app import CHROMIUM, make_app
from tests.support.live import serve, serve_sandbox

CONSOLE_AUTH = ("proctor", "sandbox")


def _chromium_available() -> bool:
    return os.path.exists(CHROMIUM) or bool(shutil.which(CHROMIUM))


@pytest.fixture(autouse=True)
def _require_browser():
    """Skip without Chromium; with REQUIRE_BROWSER=1 a missing browser is a failure."""
    if _chromium_available():
        return
    reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@dataclass
class Stack:
    """A live portal (with demo data) wired to a live sandbox."""

    portal_url: str
    sandbox_url: str
    portal_app: Any
    sandbox_app: Any

    def url(self, path: str) -> str:
        return self.portal_url + path

    def console(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call the sandbox console JSON API as the proctor."""
        return requests.request(method, self.sandbox_url + "/console/api" + path,
                                auth=CONSOLE_AUTH, timeout=10, **kwargs)

    def db(self):
        """An app context on the live portal's database, for assertions."""
        return self.portal_app.app_context()


def start_stack(tmp_path, shutdowns: list[Callable[[], None]],
                portal: dict[str, Any] | None = None,
                sandbox: dict[str, Any] | None = None) -> Stack:
    """Serve the portal (demo data, a SQLite file in `tmp_path`) and a sandbox wired to
    it; append their shutdowns to `shutdowns` (the caller runs them, last first)."""
    app = make_app("sqlite", tmp_path, **(portal or {}))
    with app.app_context():
        load_demo_data()
        db.session.commit()
    portal_url, stop_portal = serve(app, "portal-live")
    shutdowns.append(stop_portal)
    config = app.config
    sandbox_settings = {
        "SANDBOX_JWT_SECRET": config["PROCTOR_JWT_SECRET"],
        "SANDBOX_WEBHOOK_KEY": config["PROCTOR_WEBHOOK_KEYS"][0],
        "SANDBOX_CONSTRUCTOR_SECRET": config["CONSTRUCTOR_JWT_SECRET"],
        "SANDBOX_CONSTRUCTOR_INTEGRATION": config["CONSTRUCTOR_INTEGRATION"],
        "SANDBOX_REVIEW_URL": portal_url + "/api/constructor/review",
        "SANDBOX_METRICS_PERIOD": 0.5,
        **(sandbox or {}),
    }
    sandbox_url, sandbox_app, stop_sandbox = serve_sandbox(sandbox_settings)
    shutdowns.append(stop_sandbox)
    # Each side learns the other's address once both are listening.
    config.update(PROCTOR_URL=sandbox_url, CONSTRUCTOR_URL=sandbox_url, PUBLIC_URL=portal_url)
    return Stack(portal_url, sandbox_url, app, sandbox_app)


@pytest.fixture
def make_stack(tmp_path) -> Callable[..., Stack]:
    """stack(portal={...}, sandbox={...}): start both servers with these overrides."""
    shutdowns: list[Callable[[], None]] = []

    def start(portal: dict[str, Any] | None = None, sandbox: dict[str, Any] | None = None) -> Stack:
        return start_stack(tmp_path, shutdowns, portal, sandbox)

    yield start
    for shutdown in reversed(shutdowns):
        shutdown()


@pytest.fixture
def stack(make_stack) -> Stack:
    return make_stack()

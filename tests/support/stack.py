"""The browser tests' stack: the sandbox and the portal served on two loopback origins,
with the demo data (the `make_stack` fixture of tests/browser/conftest.py uses it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import requests

from portal.extensions import db
from portal.site.demo import load_demo_data
from tests.support.app import make_app
from tests.support.live import serve, serve_sandbox

CONSOLE_AUTH = ("proctor", "sandbox")


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

"""Fixtures for the sandbox's tests: an in-memory sandbox, a student session, a receiver."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the repository root, so `import sandbox` works from any runner
    sys.path.insert(0, str(ROOT))

from sandbox import create_app  # noqa: E402
from tests.support.sandbox import (  # noqa: E402
    CONSTRUCTOR_SECRET, JWT_SECRET, WEBHOOK_KEY, Receiver, Session, bearer, make_token,
)


@pytest.fixture
def config() -> dict[str, Any]:
    """The sandbox settings of one test; tests may change them before using ``app``."""
    return {
        "TESTING": True,
        "SANDBOX_DATABASE": ":memory:",
        "SANDBOX_JWT_SECRET": JWT_SECRET,
        "SANDBOX_CONSTRUCTOR_SECRET": CONSTRUCTOR_SECRET,
        "SANDBOX_WEBHOOK_KEY": WEBHOOK_KEY,
        "SANDBOX_RETRY_BASE": 0.05,
        "SANDBOX_METRICS_PERIOD": 0.5,
        "SANDBOX_PUBLIC_URL": "http://sandbox.test",
    }


@pytest.fixture
def app(config):
    app = create_app(config)
    yield app
    app.extensions["sandbox_store"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def open_session(client):
    """``open_session(**claims)`` -> Session, after a successful auth."""
    def _open(**claims: Any) -> Session:
        response = client.post("/api/auth/jwt", headers=bearer(make_token(**claims)))
        assert response.status_code == 200, response.get_json()
        return Session(client, response.get_json()["token"])
    return _open


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


# ---- the stand-in SDK in a real browser (tests/sandbox/test_sdk_*.py, test_sandbox_browser.py)

@pytest.fixture(scope="module")
def sandbox():
    """A live sandbox, shared by one module's browser tests: (base_url, app)."""
    from tests.support.live import serve_sandbox

    base, app, shutdown = serve_sandbox({"SANDBOX_JWT_SECRET": JWT_SECRET, "SANDBOX_METRICS_PERIOD": 0.5})
    yield base, app
    shutdown()


@pytest.fixture(scope="module")
def host(sandbox):
    """The "portal": another origin whose exam page loads the SDK under a strict CSP."""
    from tests.sandbox.sdk_page import serve_exam_page

    base, shutdown = serve_exam_page(sandbox[0])
    yield base
    shutdown()

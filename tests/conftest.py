"""Shared fixtures: the app on each database backend, clients, an auth helper, factories
(the helpers themselves are in tests/support/app.py).

Every test gets an empty database: a new SQLite file, and, when TEST_DATABASE_URL is
set, the same test runs again on PostgreSQL (tables emptied between tests).
"""
from __future__ import annotations

import logging

import pytest

from portal.extensions import db
from tests.support.app import (BACKENDS, CHROMIUM, CHROMIUM_ARGS, Auth, _apps_to_dispose,
                               add_exam, add_user, make_app, start_attempt)
from tests.support.constructor import BACKOFF_BASE, Sandbox, serve_sandbox_quietly


# ---- Playwright (pytest-playwright): Debian's Chromium, one browser per test run -------

@pytest.fixture(scope="session")
def base_url() -> None:
    """Tests use absolute URLs (each test serves its apps on their own ports)."""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def console_errors(request):
    """The browser guard of a test that uses ``page``: ``console_errors.allow(regex)``
    declares an error the test provokes; any other console error or CSP violation fails it."""
    from tests.support.page_guard import PageGuard

    guard = PageGuard()
    if "page" in request.fixturenames:
        guard.attach(request.getfixturevalue("context"))
    return guard


@pytest.fixture(autouse=True)
def _browser_guard(request):
    """Every browser test fails on CSP violations and unexpected console errors."""
    if "page" not in request.fixturenames:
        yield
        return
    guard = request.getfixturevalue("console_errors")
    yield
    problems = guard.problems()
    assert not problems, "the browser reported:\n" + "\n".join(problems)


@pytest.fixture(autouse=True)
def _dispose_engines():
    """Close every pooled connection a test opened (an unclosed one warns, and warnings
    are errors here)."""
    yield
    while _apps_to_dispose:
        app = _apps_to_dispose.pop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(backend, tmp_path):
    app = make_app(backend, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def student(app):
    return add_user("student1", display_name="Ada Lovelace", group="g1", lang="en")


@pytest.fixture
def other_student(app):
    return add_user("student2")


@pytest.fixture
def instructor(app):
    return add_user("teacher", role="instructor")


@pytest.fixture
def exam(app):
    return add_exam()


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def running(client, auth, student, exam):
    """The student logged in, with a started attempt of `exam`: (attempt id, the headers
    its page's requests carry)."""
    auth.login()
    return start_attempt(client, auth, exam)


# ---- Constructor: the live sandbox, the portal aimed at it, the worker's logs ----------

@pytest.fixture
def sandbox():
    url, app, shutdown = serve_sandbox_quietly()
    yield Sandbox(url, app)
    shutdown()


@pytest.fixture
def live_app(app, sandbox):
    """The portal app (both backends) aimed at the live sandbox, fast backoff."""
    app.config.update(CONSTRUCTOR_URL=sandbox.url, OUTBOX_BACKOFF_BASE=BACKOFF_BASE,
                      OUTBOX_MAX_TRIES=5, OUTBOX_LEASE_SECONDS=10)
    return app


@pytest.fixture
def outbox_logs(caplog):
    """caplog for the worker's log lines. Re-enables the loggers: alembic's
    `fileConfig` (migrations/env.py, run by the migration tests in this process)
    disables every logger that existed before it."""
    for name in ("portal.outbox", "portal.outbox.reconcile"):
        logging.getLogger(name).disabled = False
    caplog.set_level(logging.INFO, logger="portal.outbox")
    return caplog

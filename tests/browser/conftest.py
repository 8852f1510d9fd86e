"""Real-browser fixtures: the portal and the sandbox proctoring server served for real on
two loopback origins, and Playwright driving Debian's Chromium.

Chromium is /usr/bin/chromium (or CHROMIUM_PATH). Without it these tests skip with a
reason, unless REQUIRE_BROWSER=1, which turns the skip into a failure (CI sets it).
"""
from __future__ import annotations

import os
import shutil
from typing import Any, Callable

import pytest

from tests.support.app import CHROMIUM
from tests.support.stack import Stack, start_stack



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

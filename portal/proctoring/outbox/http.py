"""The one configured HTTP session for calls to proctoring servers.

No transport-level retries (urllib3's `Retry` would hide tries from the outbox's log
and its try count): every retry is an outbox try, visible and bounded. Explicit
timeouts on every call; redirects are not followed (a POST turned into a GET by a
302 would silently not finish anything).
"""
from __future__ import annotations

import threading

import requests
from flask import current_app
from requests.adapters import HTTPAdapter

USER_AGENT = "exam-portal/1.0 (+outbox)"
# (connect, read) seconds at most. A try must end well within its claim's lease, so
# with a short OUTBOX_LEASE_SECONDS they shrink to a quarter and a half of it.
MAX_TIMEOUT = (3.05, 10.0)

_local = threading.local()


def session() -> requests.Session:
    """This thread's session (requests.Session is not documented as thread-safe; one
    per worker thread keeps its connection pool)."""
    http = getattr(_local, "session", None)
    if http is None:
        http = requests.Session()
        http.headers["User-Agent"] = USER_AGENT
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=4)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        _local.session = http
    return http


def timeout() -> tuple[float, float]:
    """(connect, read) seconds: OUTBOX_HTTP_TIMEOUT when set (a number or a pair), else
    MAX_TIMEOUT, shortened to fit OUTBOX_LEASE_SECONDS (connect + read <= 3/4 lease)."""
    value = current_app.config.get("OUTBOX_HTTP_TIMEOUT")
    if isinstance(value, (int, float)):
        return (float(value), float(value))
    if value:
        return (float(value[0]), float(value[1]))
    lease = float(current_app.config["OUTBOX_LEASE_SECONDS"])
    return (min(MAX_TIMEOUT[0], lease / 4), min(MAX_TIMEOUT[1], lease / 2))

"""What one try of an outbox job came to, and how an HTTP answer is classified."""
from __future__ import annotations

from dataclasses import dataclass

import requests

DONE, RETRY, FAIL = "done", "retry", "fail"
# 4xx answers that mean "later", not "never" (RFC 9110 408, RFC 6585 429).
TRANSIENT_4XX = (408, 429)
EXCERPT = 300


@dataclass(frozen=True)
class Outcome:
    """`status`: done (stored as result_message), retry (transient: backoff and try
    again) or fail (permanent: no retry, flagged at once). `summary` is one line for
    logs and for the job's last_error or result_message."""

    status: str
    summary: str


def excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def from_exception(error: requests.RequestException) -> Outcome:
    """No answer: timeout, refused or dropped connection. Always transient."""
    if isinstance(error, requests.Timeout):
        what = "timeout"
    elif isinstance(error, requests.ConnectionError):
        what = "connection error"
    else:
        what = "request error"
    return Outcome(RETRY, excerpt(f"{what}: {type(error).__name__}: {error}"))


def from_error_status(response: requests.Response) -> Outcome:
    """A non-200 answer: 5xx (and 408/429) are transient, any other code is permanent."""
    code = response.status_code
    line = excerpt(f"HTTP {code} {response.reason or ''}: {response.text}")
    if code >= 500 or code in TRANSIENT_4XX:
        return Outcome(RETRY, line)
    return Outcome(FAIL, line)

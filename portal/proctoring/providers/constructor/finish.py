"""One try of a Constructor finish call (contract section 2, "Finish").

`POST .../sessions/<identifier>/finish/` with `{"sessionFinishUrl": ...}` (or `{}`) and
a fresh `Authorization: JWT` ({"exp": now + 30}) made for this very try.
200 with `finished`, `not_changed` or `canceled` completes the job.
"""
from __future__ import annotations

import requests

from portal.proctoring.outbox import http
from portal.proctoring.outbox.models import OutboxJob
from portal.proctoring.outbox.outcomes import (DONE, RETRY, Outcome, excerpt, from_error_status,
                                              from_exception)
from portal.proctoring.providers import constructor

FINISH_MESSAGES = ("finished", "not_changed", "canceled")


def send(job: OutboxJob) -> Outcome:
    """Make the call once and classify the answer. Never raises for network errors.

    Raises constructor.NotConfigured when CONSTRUCTOR_JWT_SECRET is missing."""
    url = constructor.session_api_url(job.attempt.identifier, "finish")
    headers = constructor.auth_header()  # per try: the token proves when it was sent
    try:
        response = http.session().post(url, json=job.payload or {}, headers=headers,
                                       timeout=http.timeout(), allow_redirects=False)
    except requests.RequestException as error:
        return from_exception(error)
    if response.status_code != 200:
        return from_error_status(response)
    return classify_ok(response)


def classify_ok(response: requests.Response) -> Outcome:
    """A 200 must carry one of the documented messages. Anything else (say, a proxy's
    HTML page) is not proof that the session was finished: retried."""
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    if message in FINISH_MESSAGES:
        return Outcome(DONE, message)
    return Outcome(RETRY, excerpt(f"HTTP 200 without a finish message: {response.text}"))


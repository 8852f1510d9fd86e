"""Links the dashboard offers out of the portal: the protocol, the recording.

URLs that arrive in deliveries are shown only when they are http(s): a `javascript:`
link in a webhook body must never become a clickable link on an instructor's page.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from portal.exams.models import Attempt
from portal.proctoring.models import ProctoringResult
from portal.proctoring.providers import supervisor


def safe_http_url(value: Any) -> str | None:
    """The value if it is an absolute http(s) URL, else None."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def protocol_url(attempt: Attempt, result: ProctoringResult | None) -> str | None:
    """The session's protocol (report): the link the server sent, else, for Supervisor,
    `PROCTOR_URL/api/report/<identifier>`."""
    sent = safe_http_url(result.link) if result else None
    if sent:
        return sent
    return supervisor.protocol_link(attempt) if attempt.vendor == "supervisor" else None


def archive_url(result: ProctoringResult | None) -> str | None:
    """Constructor's recording (`archive`), when its review carried one."""
    details = result.details if result and isinstance(result.details, dict) else {}
    return safe_http_url(details.get("archive"))


def can_open_as_proctor(attempt: Attempt) -> bool:
    """Proctor token links exist for the Supervisor SDK only."""
    return attempt.vendor == "supervisor"


def requeue_available() -> bool:
    """The Constructor engineer's re-queue endpoint, once it is registered."""
    return "constructor.requeue_finish" in current_app.view_functions

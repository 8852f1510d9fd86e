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
from portal.proctoring import providers


def safe_http_url(value: Any) -> str | None:
    """The value if it is an absolute http(s) URL, else None."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def protocol_url(attempt: Attempt, result: ProctoringResult | None) -> str | None:
    """The session's protocol (report): the link the server sent, else the one its
    provider knows how to make (None: it makes none)."""
    sent = safe_http_url(result.link) if result else None
    if sent:
        return sent
    return providers.for_vendor(attempt.vendor).protocol_link(attempt)


def archive_url(result: ProctoringResult | None) -> str | None:
    """The session's recording (`details.archive`), when the vendor's result carried one."""
    details = result.details if result and isinstance(result.details, dict) else {}
    return safe_http_url(details.get("archive"))


def can_open_as_proctor(attempt: Attempt) -> bool:
    """Does the attempt's vendor offer a proctor login to its session?"""
    return providers.for_vendor(attempt.vendor).opens_as_proctor


def requeue_available() -> bool:
    """Is a provider's re-queue endpoint registered (the button's form posts to it)?"""
    return any(provider.requeue_endpoint in current_app.view_functions
               for provider in providers.all_providers() if provider.requeue_endpoint)

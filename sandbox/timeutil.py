"""Time helpers: the sandbox stores UNIX seconds and speaks ISO-8601 with ms and Z."""
from __future__ import annotations

import time
from datetime import datetime, timezone


def now() -> float:
    """Current UNIX time in seconds (one place, so tests could patch it)."""
    return time.time()


def iso(ts: float | None) -> str | None:
    """Format UNIX seconds as ``YYYY-MM-DDTHH:mm:ss.sssZ`` (None stays None)."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> float:
    """Parse an ISO-8601 date-time with ``Z`` or an offset into UNIX seconds.

    Raises ValueError for anything else, including a date-time without a zone.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError("no time zone")
    return dt.timestamp()

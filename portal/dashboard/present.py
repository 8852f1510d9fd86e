"""Small presentation helpers for the dashboard's templates (no queries, no rules)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from portal.core import jsonbody
from portal.db_types import isoformat_z

KNOWN_DETAIL_KEYS = {"warnings", "archive"}


def utc(value: datetime | None, with_seconds: bool = False) -> str:
    """`2024-05-01 10:03` (UTC) or an em dash."""
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def short_utc(value: datetime, same_day_as: datetime | None = None) -> str:
    """`22 Nov 10:03`, or `10:03` on the same day as `same_day_as`: for table cells (the
    full time is in the element's title)."""
    if same_day_as is not None and same_day_as.date() == value.date():
        return value.strftime("%H:%M")
    return value.strftime("%d %b %H:%M")


def iso(value: datetime | None) -> str:
    return isoformat_z(value) or ""


def pretty_body(body: str | None) -> str:
    """A delivery's raw body, indented when it is JSON the portal accepts (else as
    received). Never raises, whatever was stored: a body nested too deeply to parse or
    with escapes that decode to text no page can hold (lone surrogates) is shown raw."""
    if not body:
        return ""
    try:
        return json.dumps(jsonbody.loads(body), indent=2, ensure_ascii=False, sort_keys=False)
    except jsonbody.BodyError:
        # the raw text itself is printable: receive() decoded it with replacement
        return body.encode("utf-8", "replace").decode("utf-8")


def warnings(details: Any) -> list[dict[str, Any]]:
    """The result's warnings as the provider stored them (`details.warnings`: type,
    title in words, start, end, cyber), tolerant of any shape (vendor data: a missing or
    odd field is skipped, not fatal). A warning without a title shows its type."""
    if not isinstance(details, dict) or not isinstance(details.get("warnings"), list):
        return []
    shown = []
    for warning in details["warnings"]:
        if not isinstance(warning, dict):
            continue
        kind = str(warning.get("type") or "")
        title = warning.get("title") if isinstance(warning.get("title"), str) else ""
        shown.append({"type": kind, "title": title or kind, "start": warning.get("start"),
                      "end": warning.get("end"), "cyber": warning.get("cyber")})
    return shown


def other_details(details: Any) -> dict[str, Any]:
    """Vendor extras not shown elsewhere on the page."""
    if not isinstance(details, dict):
        return {}
    return {k: v for k, v in details.items() if k not in KNOWN_DETAIL_KEYS}


def duration(minutes: float | None) -> str:
    """A session's length (the vendor reports minutes): `45 s` under a minute (a short
    session must not read `0 min`), else `24 min` or `1.5 min`; an em dash when unknown."""
    if minutes is None:
        return "—"
    seconds = round(minutes * 60)
    if seconds < 60:
        return f"{max(0, seconds)} s"
    return f"{round(minutes, 1):g} min"

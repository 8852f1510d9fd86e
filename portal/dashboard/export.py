"""The results table as CSV: one row per attempt, UTF-8, safe to open in a spreadsheet.

Safety: a text cell that a spreadsheet would run as a formula (it starts with = + - @,
a tab or a carriage return; OWASP "CSV injection") gets a leading apostrophe, so it
shows as text. Numbers are written as numbers and never escaped. Times are ISO-8601 UTC.
The file starts with a byte-order mark so that Excel reads it as UTF-8 (names with
accents); csv readers that expect plain UTF-8 can open it with encoding "utf-8-sig".
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Iterable, Iterator

from portal.dashboard.queries import ResultRow
from portal.db_types import isoformat_z
from portal.proctoring.metrics import METRIC_NAMES

BOM = "\ufeff"
# Full-width variants too: some spreadsheet apps normalise them to the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

COLUMNS = [
    "attempt_id", "identifier", "student_username", "student_name", "exam", "lms_state",
    "close_reason", "grade", "grade_max", "attempt_started_at", "attempt_closed_at",
    "vendor", "proctoring_status", "proctoring_score", "threshold", "duration_minutes",
    "proctoring_started_at", "proctoring_stopped_at", "proctor", "conclusion", "comment",
    "protocol_link", "flags", "flag_reasons",
    # Evidence by source: the proctoring server's, then the page's (a claim only).
    "vendor_start_confirmed_at", "vendor_first_delivery_at", "vendor_status_call",
    "page_reported_start_at", "page_reported_stop_at",
    # Staff's review decision (apart from the proctor's verdict above).
    "staff_decision", "decision_by", "decided_at", "decision_note",
] + [f"avg_{code} ({name})" for code, name in METRIC_NAMES.items()]


def cell(value: Any) -> str | int | float:
    """One value as a safe CSV cell (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if isinstance(value, datetime):
        return isoformat_z(value) or ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row_values(row: ResultRow) -> list[Any]:
    attempt, result = row.attempt, row.result
    averages = result.averages if result and isinstance(result.averages, dict) else {}
    values = [
        attempt.id, attempt.identifier, attempt.user.username, attempt.user.display_name,
        attempt.exam.title, attempt.state, attempt.close_reason, attempt.score,
        attempt.max_score, attempt.started_at, attempt.closed_at, attempt.vendor,
        result.status if result else None, result.score if result else None, row.threshold,
        result.duration if result else None, result.started_at if result else None,
        result.stopped_at if result else None, result.proctor if result else None,
        result.conclusion if result else None, result.comment if result else None,
        result.link if result else None,
        "; ".join(flag.label for flag in row.flags),
        " | ".join(flag.reason for flag in row.flags),
        attempt.vendor_started_at, attempt.vendor_first_delivery_at, attempt.vendor_status,
        attempt.page_started_at, attempt.page_stopped_at,
        *_decision_values(row),
    ]
    for code in METRIC_NAMES:
        value = averages.get(code)
        values.append(value if isinstance(value, (int, float)) and not isinstance(value, bool)
                      else None)
    return values


def _decision_values(row: ResultRow) -> list[Any]:
    decision = row.decision
    if decision is None:
        return [None, None, None, None]
    return [decision.decision, decision.decided_by_name, decision.decided_at, decision.note]


def csv_lines(rows: Iterable[ResultRow]) -> Iterator[str]:
    """The file, a line at a time (rows are written as they are read)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield BOM + flush()
    for row in rows:
        writer.writerow([cell(value) for value in row_values(row)])
        yield flush()

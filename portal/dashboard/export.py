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
from typing import Any, Callable, Iterable, Iterator

from portal.dashboard.queries import ResultRow
from portal.db_types import isoformat_z
from portal.proctoring.metrics import METRIC_NAMES

BOM = "\ufeff"
# Full-width variants too: some spreadsheet apps normalise them to the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

def _result(name: str) -> Callable[[ResultRow], Any]:
    return lambda row: getattr(row.result, name) if row.result else None


def _attempt(name: str) -> Callable[[ResultRow], Any]:
    return lambda row: getattr(row.attempt, name)


def _decision(name: str) -> Callable[[ResultRow], Any]:
    return lambda row: getattr(row.decision, name) if row.decision else None


def _average(code: str) -> Callable[[ResultRow], Any]:
    def value(row: ResultRow) -> Any:
        result = row.result
        averages = result.averages if result and isinstance(result.averages, dict) else {}
        found = averages.get(code)
        return found if isinstance(found, (int, float)) and not isinstance(found, bool) else None
    return value


# Each column as (header, how to read its value from a row): one list, so a header can
# never drift from its value.
COLUMN_VALUES: list[tuple[str, Callable[[ResultRow], Any]]] = [
    ("attempt_id", _attempt("id")),
    ("identifier", _attempt("identifier")),
    ("student_username", lambda row: row.attempt.user.username),
    ("student_name", lambda row: row.attempt.user.display_name),
    ("exam", lambda row: row.attempt.exam.title),
    ("lms_state", _attempt("state")),
    ("close_reason", _attempt("close_reason")),
    ("grade", _attempt("score")),
    ("grade_max", _attempt("max_score")),
    ("attempt_started_at", _attempt("started_at")),
    ("attempt_closed_at", _attempt("closed_at")),
    ("vendor", _attempt("vendor")),
    ("proctoring_status", _result("status")),
    ("proctoring_score", _result("score")),
    ("threshold", lambda row: row.threshold),
    ("duration_minutes", _result("duration")),
    ("proctoring_started_at", _result("started_at")),
    ("proctoring_stopped_at", _result("stopped_at")),
    ("proctor", _result("proctor")),
    ("conclusion", _result("conclusion")),
    ("comment", _result("comment")),
    ("protocol_link", _result("link")),
    ("flags", lambda row: "; ".join(flag.label for flag in row.flags)),
    ("flag_reasons", lambda row: " | ".join(flag.reason for flag in row.flags)),
    # Evidence by source: the proctoring server's, then the page's (a claim only).
    ("vendor_start_confirmed_at", _attempt("vendor_started_at")),
    ("vendor_first_delivery_at", _attempt("vendor_first_delivery_at")),
    ("vendor_status_call", _attempt("vendor_status")),
    ("page_reported_start_at", _attempt("page_started_at")),
    ("page_reported_stop_at", _attempt("page_stopped_at")),
    # Staff's review decision (apart from the proctor's verdict above).
    ("staff_decision", _decision("decision")),
    ("decision_by", _decision("decided_by_name")),
    ("decided_at", _decision("decided_at")),
    ("decision_note", _decision("note")),
] + [(f"avg_{code} ({name})", _average(code)) for code, name in METRIC_NAMES.items()]
COLUMNS = [header for header, _ in COLUMN_VALUES]


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
    """The row's values, in the order of COLUMNS."""
    return [value(row) for _, value in COLUMN_VALUES]




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

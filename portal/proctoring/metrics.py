"""The Supervisor SDK's metric codes in words (proctoring-contract.md, section 1.2).

The one Python source of truth for metric names; the student's page keeps its own copy
in static/js/exam.js (no build step), and a test checks the two agree.
"""
from __future__ import annotations

# In the contract's order, which is also the order of the dashboard's bars and columns.
METRIC_NAMES: dict[str, str] = {
    "b1": "browser not supported",
    "b2": "focus moved to another window",
    "b3": "full screen disabled",
    "c1": "webcam disabled",
    "c2": "face invisible or not looking at the camera",
    "c3": "several faces",
    "c4": "face does not match the profile",
    "c5": "similar profile found",
    "k1": "atypical keyboard writing",
    "m1": "microphone muted or too quiet",
    "m2": "conversation or noise",
    "n1": "no network",
    "n2": "no connection to the phone camera",
    "s1": "screen not shared",
    "s2": "second display used",
}


def metric_name(code: str | None) -> str:
    """The metric's name in words; an unknown code is returned as given (never raises)."""
    if not code:
        return ""
    return METRIC_NAMES.get(code, code)


def metric_label(code: str) -> str:
    """`c2 face invisible or not looking at the camera`: code and words together."""
    name = METRIC_NAMES.get(code)
    return f"{code} {name}" if name else code

"""The proctoring contract's vocabulary, in one place: the metric codes with their names
in words (proctoring-contract.md, section 1.2) and the result statuses (section 1.5).

Every portal module reads these from here (metrics.py, models.py, the parsers, the
dashboard); tests and the bench read them too instead of restating them. The sandbox
keeps its own copy (the two apps never import each other): a test checks over its
HTTP API that it sends exactly these codes (tests/sandbox/test_sandbox_vocabulary.py),
and another that the page's copy in static/js/exam.js agrees
(tests/test_dashboard_charts.py).
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
METRIC_CODES: tuple[str, ...] = tuple(METRIC_NAMES)

# A proctoring result's status, in the order a session goes through them.
RESULT_STATUSES = ("started", "skipped", "stopped", "accepted", "rejected")
# The session has ended (an open attempt is closed when one arrives).
FINAL_STATUSES = ("skipped", "stopped", "accepted", "rejected")
# A person (or the vendor's review) has rated the session.
VERDICT_STATUSES = ("accepted", "rejected")

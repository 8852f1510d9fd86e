"""The metric codes in words, for people (the codes and names: vocabulary.py), and what
a student can do about each: the student's page gets both in its config (`page_config`
in providers/supervisor/)."""
from __future__ import annotations

from portal.proctoring.vocabulary import METRIC_CODES, METRIC_NAMES

__all__ = ["METRIC_CODES", "METRIC_NAMES", "metric_label", "metric_name"]


# What a student can do about each, said with the warning on the test page.
METRIC_ADVICE: dict[str, str] = {
    "b1": "Use a current Chrome, Edge or Firefox.",
    "b2": "Come back to this window and stay in it.",
    "b3": "Turn full screen back on.",
    "c1": "Turn your camera back on and allow it for this site.",
    "c2": "Keep your face in the camera's view and look at the screen.",
    "c3": "Make sure nobody else is in the camera's view.",
    "c4": "Only you may take this test: sit in front of the camera yourself.",
    "c5": "Only you may take this test: sit in front of the camera yourself.",
    "k1": "Type your answers yourself.",
    "m1": "Turn your microphone back on and check that it is not muted.",
    "m2": "Keep the room quiet and do not talk.",
    "n1": "Check your internet connection; keep this page open.",
    "n2": "Check the phone camera's connection.",
    "s1": "Share your entire screen again.",
    "s2": "Disconnect every display but one.",
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

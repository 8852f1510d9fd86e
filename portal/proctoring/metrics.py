"""The metric codes in words, for people (the codes and names: vocabulary.py)."""
from __future__ import annotations

from portal.proctoring.vocabulary import METRIC_CODES, METRIC_NAMES

__all__ = ["METRIC_CODES", "METRIC_NAMES", "metric_label", "metric_name"]


def metric_name(code: str | None) -> str:
    """The metric's name in words; an unknown code is returned as given (never raises)."""
    if not code:
        return ""
    return METRIC_NAMES.get(code, code)


def metric_label(code: str) -> str:
    """`c2 face invisible or not looking at the camera`: code and words together."""
    name = METRIC_NAMES.get(code)
    return f"{code} {name}" if name else code

"""Metric codes and the score rule of the v3.20.5 SDK (contract 1.2)."""
from __future__ import annotations

from typing import Mapping

CODES = ("b1", "b2", "b3", "c1", "c2", "c3", "c4", "c5", "k1",
         "m1", "m2", "n1", "n2", "s1", "s2")
THRESHOLD = 50

# The presets of the stand-in SDK's widget and the console's buttons (one list for
# both): a clear, violating value per button.
VIOLATIONS = (
    {"label": "Face not visible", "metric": "c2", "value": 80},
    {"label": "Second person", "metric": "c3", "value": 70},
    {"label": "Noise", "metric": "m2", "value": 60},
)


def clean(values: Mapping[str, object]) -> dict[str, int]:
    """Keep known codes only, as integers clamped to 0..100."""
    out: dict[str, int] = {}
    for code in CODES:
        raw = values.get(code, 0)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raw = 0
        out[code] = max(0, min(100, int(round(raw))))
    return out


def evaluate(metrics: Mapping[str, int]) -> dict[str, object]:
    """Return the ``metrics`` event: ``score = max(0, 100 - max(metric))``.

    ``peak`` is the code with the highest value (None when all are 0) and
    ``violated`` is ``score <= threshold``, as the real script computes them.
    """
    values = clean(metrics)
    peak_code = max(values, key=lambda c: values[c])
    top = values[peak_code]
    score = max(0, 100 - top)
    return {
        "metrics": values,
        "peak": peak_code if top > 0 else None,
        "score": score,
        "threshold": THRESHOLD,
        "violated": score <= THRESHOLD,
    }


def averages(samples: list[Mapping[str, int]]) -> dict[str, int]:
    """Per-code rounded averages over the samples (all 0 when there are none)."""
    if not samples:
        return {code: 0 for code in CODES}
    return {code: round(sum(s.get(code, 0) for s in samples) / len(samples)) for code in CODES}

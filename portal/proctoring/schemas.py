"""The shapes of what proctoring reaches the portal with, validated with pydantic.

- The field types the vendors' delivery schemas share (each vendor's own schema is in its
  provider: providers/supervisor/schemas.py, providers/constructor/__init__.py), and
  `InvalidDelivery`, which lists every problem found, so the sender learns all of them
  at once.
- `MetricsBatch`: the body of the student's page's metrics reports (its stop report has none).

The same models describe these bodies in the OpenAPI document (portal/api/openapi.py).
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator

from portal.core.jsonbody import Problem
from portal.proctoring.page_events import MAX_SAMPLES_PER_BATCH, METRIC_CODES

__all__ = ["Problem", "InvalidDelivery", "MetricsBatch", "Date", "Score", "NonNegative",
           "MetricCode", "MetricValue", "from_form", "http_link", "number", "parse_date"]

_NUMBER_RE = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


class InvalidDelivery(ValueError):
    """The body is not a valid delivery; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


# ---- field types ---------------------------------------------------------------------

def from_form(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("form"))


def number(value: Any, info: ValidationInfo) -> float | None:
    # Form fields are text, so "64" is a number there; in JSON a number must be a number.
    if value is None:
        return None
    if isinstance(value, str) and from_form(info) and _NUMBER_RE.match(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float (parsers other than jsonbody's)
        raise ValueError("must be a number in range") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def parse_date(value: Any) -> datetime | None:
    """An ISO-8601 date-time with a zone, as aware UTC (None stays None). Raises
    ValueError, saying what is wrong, for anything else (also a non-string, and an
    instant outside the years 1-9999 in UTC)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date-time string")
    text = value.strip()
    if text.endswith(("Z", "z")):  # fromisoformat of 3.11 reads Z, older ones did not
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not an ISO-8601 date-time "
                         "(expected e.g. 2022-02-18T23:55:58.524Z)") from None
    if parsed.tzinfo is None:
        # Without a zone the instant is ambiguous, and ordering depends on it.
        raise ValueError("must include a time zone (Z or +hh:mm)")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first instant there is
        raise ValueError(f"{value[:40]!r} is out of range (in UTC it must fall within "
                         "the years 1-9999)") from None


def http_link(value: str | None) -> str | None:
    # The dashboard renders it as a link: only http(s), never javascript: and the like.
    if value is not None and not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


Score = Annotated[Annotated[float, Field(ge=0, le=100)] | None, BeforeValidator(number)]
NonNegative = Annotated[Annotated[float, Field(ge=0)] | None, BeforeValidator(number)]
Date = Annotated[datetime | None, BeforeValidator(parse_date)]
MetricCode = Literal[METRIC_CODES]  # type: ignore[valid-type]
MetricValue = Annotated[Annotated[float, Field(ge=0)] | None, BeforeValidator(number)]
# ---- the student's page's reports ----------------------------------------------------

def _metrics(value: Any) -> Any:
    if isinstance(value, dict) and any(key not in METRIC_CODES for key in value):
        raise ValueError(f"keys must be metric codes ({', '.join(METRIC_CODES)})")
    return value


def _peak(value: Any) -> Any:
    if value is not None and value not in METRIC_CODES:
        raise ValueError("must be a metric code or null")
    return value


def _batch(value: Any) -> Any:
    if not isinstance(value, list) or not 0 < len(value) <= MAX_SAMPLES_PER_BATCH:
        raise ValueError(f"must be a list of 1-{MAX_SAMPLES_PER_BATCH} metrics events")
    return value


PageNumber = Annotated[float | None, BeforeValidator(number)]  # never from a form


class MetricsEvent(BaseModel):
    """One `metrics` event of the SDK (contract 1.2), as the page received it. Every field
    may be missing or null; others are ignored."""

    model_config = ConfigDict(extra="ignore")

    metrics: Annotated[dict[MetricCode, PageNumber] | None, BeforeValidator(_metrics)] = None
    peak: Annotated[MetricCode | None, BeforeValidator(_peak)] = None
    score: PageNumber = None
    threshold: PageNumber = None
    violated: bool | None = None


class MetricsBatch(BaseModel):
    """`POST /api/attempts/<id>/metrics`: the `metrics` events the page queued."""

    samples: Annotated[list[MetricsEvent], BeforeValidator(_batch),
                       Field(min_length=1, max_length=MAX_SAMPLES_PER_BATCH)]

    @model_validator(mode="before")
    @classmethod
    def _samples_named(cls, data: Any) -> Any:
        # A missing `samples` gets the same message as a wrong one: what to send.
        if isinstance(data, dict) and "samples" not in data:
            return {**data, "samples": None}
        return data

    def events(self) -> list[dict[str, Any]]:
        """The events as plain dicts (metrics without nulls), for page_events."""
        return [{"metrics": {k: v for k, v in (e.metrics or {}).items() if v is not None},
                 "peak": e.peak, "score": e.score, "threshold": e.threshold,
                 "violated": bool(e.violated)} for e in self.samples]


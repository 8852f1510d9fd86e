"""The shapes of what proctoring reaches the portal with, validated with pydantic.

- `SupervisorDelivery` (contract 1.5): `supervisor_update` turns the fields of one
  delivery (from a JSON object, or from form fields whose values are all text) into a
  vendor-neutral `ResultUpdate`, or raises `InvalidDelivery` listing every problem found,
  so the sender learns all of them at once. Every field but `identifier` may be missing
  or null.
- `MetricsBatch`: the body of the student's page's metrics reports (its stop report has none).

The same models describe these bodies in the OpenAPI document (portal/api/openapi.py).
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      ValidationError, ValidationInfo, model_validator)

from portal.core import jsonbody
from portal.core.jsonbody import Problem, Text
from portal.proctoring.page_events import MAX_SAMPLES_PER_BATCH, METRIC_CODES
from portal.proctoring.results import ResultUpdate

__all__ = ["Problem", "InvalidDelivery", "SupervisorDelivery", "supervisor_update",
           "MetricsBatch", "Date", "Score", "parse_date"]

# Supervisor identifiers are A-Za-z0-9 in tokens; real deliveries also carry UUIDs.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)
_NUMBER_RE = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


class InvalidDelivery(ValueError):
    """The body is not a valid delivery; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


# ---- field types ---------------------------------------------------------------------

def _from_form(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("form"))


def _number(value: Any, info: ValidationInfo) -> float | None:
    # Form fields are text, so "64" is a number there; in JSON a number must be a number.
    if value is None:
        return None
    if isinstance(value, str) and _from_form(info) and _NUMBER_RE.match(value):
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


def _link(value: str | None) -> str | None:
    # The dashboard renders it as a link: only http(s), never javascript: and the like.
    if value is not None and not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _identifier(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if not IDENTIFIER_RE.match(value):
        raise ValueError("must be 1-128 characters of A-Za-z0-9, _ and -")
    return value


def _status(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _averages(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and _from_form(info):
        try:
            return jsonbody.loads(value)
        except jsonbody.BodyError:
            raise ValueError("must be a JSON object of metric averages") from None
    return value


def _metric_averages(value: dict[str, float | None] | None) -> dict[str, float] | None:
    # A metric without an average (null) is left out: there is nothing to show for it.
    return None if value is None else {k: v for k, v in value.items() if v is not None}


Score = Annotated[Annotated[float, Field(ge=0, le=100)] | None, BeforeValidator(_number)]
NonNegative = Annotated[Annotated[float, Field(ge=0)] | None, BeforeValidator(_number)]
Date = Annotated[datetime | None, BeforeValidator(parse_date)]
MetricCode = Literal[METRIC_CODES]  # type: ignore[valid-type]
MetricValue = Annotated[Annotated[float, Field(ge=0)] | None, BeforeValidator(_number)]
Identifier = Annotated[str, BeforeValidator(_identifier),
                       Field(json_schema_extra={"pattern": IDENTIFIER_PATTERN, "maxLength": 128})]


class SupervisorDelivery(BaseModel):
    """Contract 1.5. Every field but `identifier` may be missing or null; unknown fields
    are kept (`model_extra`), never rejected."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "description": "A Supervisor results delivery (contract 1.5). Older deployments "
                       "send `id` instead of `identifier`. Unknown fields are kept."})

    identifier: Identifier
    status: Annotated[Literal["started", "skipped", "stopped", "accepted", "rejected"] | None,
                      BeforeValidator(_status)] = None
    duration: NonNegative = None
    startedAt: Date = None
    stoppedAt: Date = None
    signedAt: Date = None
    score: Score = None
    threshold: Score = None
    averages: Annotated[dict[MetricCode, MetricValue] | None, BeforeValidator(_averages),
                        AfterValidator(_metric_averages)] = None
    # lengths are those of the result's columns (proctoring_results)
    student: Text(128) | None = None
    proctor: Text(128) | None = None
    comment: Text(20_000) | None = None
    conclusion: Text(20_000) | None = None
    link: Annotated[Text(1000) | None, AfterValidator(_link)] = None


def _identifier_alias(fields: dict[str, Any]) -> list[Problem]:
    """Older deployments send `id`: move it to `identifier` (in place)."""
    if "id" not in fields:
        return []
    alias = fields.pop("id")
    if "identifier" not in fields or fields["identifier"] is None:
        fields["identifier"] = alias
        return []
    if fields["identifier"] != alias:
        return [Problem("id", "differs from identifier; send one of them")]
    return []


def _problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item["loc"] if part != "[key]"]
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing" and loc == ["identifier"]:
            message = "required (older deployments send it as id)"
        elif item["loc"][-1:] == ("[key]",):
            message = f"unknown metric (expected one of {', '.join(METRIC_CODES)})"
        problems.append(Problem(".".join(loc), message))
    return problems


def supervisor_update(fields: dict[str, Any], from_form: bool = False) -> ResultUpdate:
    """The delivery as a ResultUpdate. `from_form`: values are text (form bodies), so
    numbers may be given as text and `averages` as a JSON string.

    Raises InvalidDelivery with every problem found.
    """
    fields = dict(fields)
    problems = _identifier_alias(fields)
    try:
        delivery = SupervisorDelivery.model_validate(fields, context={"form": from_form})
    except ValidationError as error:
        problems += _problems(error)
        delivery = None
    if problems or delivery is None:
        raise InvalidDelivery(problems)
    return ResultUpdate(
        identifier=delivery.identifier, status=delivery.status,
        signed_at=delivery.signedAt, started_at=delivery.startedAt,
        stopped_at=delivery.stoppedAt, score=delivery.score, threshold=delivery.threshold,
        duration=delivery.duration, student=delivery.student, proctor=delivery.proctor,
        comment=delivery.comment, conclusion=delivery.conclusion, link=delivery.link,
        averages=dict(delivery.averages) if delivery.averages is not None else None,
        details=dict(delivery.model_extra or {}))


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


PageNumber = Annotated[float | None, BeforeValidator(_number)]  # never from a form


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


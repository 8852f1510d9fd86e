"""The shape of a Supervisor results delivery (contract 1.5), validated with pydantic.

`supervisor_update` turns the fields of one delivery (from a JSON object, or from form
fields whose values are all text) into a vendor-neutral `ResultUpdate`, or raises
`InvalidDelivery` listing every problem found, so the sender learns all of them at once.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      ValidationError, ValidationInfo)

from portal.proctoring.page_events import METRIC_CODES
from portal.proctoring.results import ResultUpdate

# Supervisor identifiers are A-Za-z0-9 in tokens; real deliveries also carry UUIDs.
IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_NUMBER_RE = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


@dataclass
class Problem:
    """One reason a delivery was refused: the field (dotted path) and what is wrong."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


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
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return float(value)


def _date(value: Any) -> datetime | None:
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
    return parsed.astimezone(timezone.utc)


def _text(max_length: int | None):
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if max_length is not None and len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value
    return check


def _link(value: str | None) -> str | None:
    # The dashboard renders it as a link: only http(s), never javascript: and the like.
    if value is not None and not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _identifier(value: str) -> str:
    if not IDENTIFIER_RE.match(value):
        raise ValueError("must be 1-128 characters of A-Za-z0-9, _ and -")
    return value


def _status(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _averages(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and _from_form(info):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError("must be a JSON object of metric averages") from None
    return value


Score = Annotated[float | None, BeforeValidator(_number), Field(ge=0, le=100)]
NonNegative = Annotated[float | None, BeforeValidator(_number), Field(ge=0)]
Date = Annotated[datetime | None, BeforeValidator(_date)]
MetricCode = Literal[METRIC_CODES]  # type: ignore[valid-type]
MetricValue = Annotated[float, BeforeValidator(_number), Field(ge=0)]


def _short(n: int) -> Any:
    return BeforeValidator(_text(n))


class SupervisorDelivery(BaseModel):
    """Contract 1.5. Every field but `identifier` may be missing or null; unknown fields
    are kept (`model_extra`), never rejected."""

    model_config = ConfigDict(extra="allow")

    identifier: Annotated[str, _short(128), AfterValidator(_identifier)]
    status: Annotated[Literal["started", "skipped", "stopped", "accepted", "rejected"] | None,
                      BeforeValidator(_status)] = None
    duration: NonNegative = None
    startedAt: Date = None
    stoppedAt: Date = None
    signedAt: Date = None
    score: Score = None
    threshold: Score = None
    averages: Annotated[dict[MetricCode, MetricValue] | None, BeforeValidator(_averages)] = None
    student: Annotated[str | None, _short(128)] = None
    proctor: Annotated[str | None, _short(128)] = None
    comment: Annotated[str | None, _short(20_000)] = None
    conclusion: Annotated[str | None, _short(20_000)] = None
    link: Annotated[str | None, _short(1000), AfterValidator(_link)] = None


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

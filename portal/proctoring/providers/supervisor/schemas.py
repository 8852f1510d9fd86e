"""Supervisor's results delivery (contract 1.5), validated with pydantic.

`supervisor_update` turns the fields of one delivery (from a JSON object, or from form
fields whose values are all text) into a vendor-neutral `ResultUpdate`, or raises
`InvalidDelivery` listing every problem found. Every field but `identifier` may be
missing or null. The same model describes the body in the OpenAPI document.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      ValidationInfo)

from portal.core import jsonbody
from portal.core.jsonbody import Problem, Text
from portal.core.openapi import Answer
from portal.proctoring.results import OUTCOMES
from portal.proctoring.ordering import ResultUpdate
from portal.proctoring.schemas import (Date, InvalidDelivery, MetricCode, MetricValue,
                                       NonNegative, Score, from_form, http_link)
from portal.proctoring.vocabulary import METRIC_CODES, RESULT_STATUSES

__all__ = ["DeliveryStored", "SupervisorDelivery", "Token", "supervisor_update"]

# Supervisor identifiers are A-Za-z0-9 in tokens; real deliveries also carry UUIDs.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)

def _identifier(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if not IDENTIFIER_RE.match(value):
        raise ValueError("must be 1-128 characters of A-Za-z0-9, _ and -")
    return value


def _status(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _averages(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and from_form(info):
        try:
            return jsonbody.loads(value)
        except jsonbody.BodyError:
            raise ValueError("must be a JSON object of metric averages") from None
    return value


def _metric_averages(value: dict[str, float | None] | None) -> dict[str, float] | None:
    # A metric without an average (null) is left out: there is nothing to show for it.
    return None if value is None else {k: v for k, v in value.items() if v is not None}


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
    link: Annotated[Text(1000) | None, AfterValidator(http_link)] = None


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


# ---- the answers (for the OpenAPI document) ------------------------------------------

class DeliveryStored(Answer):
    """A Supervisor delivery is stored (and applied, unless a repeat, stale or unmatched)."""

    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    identifier: str
    status: Literal[RESULT_STATUSES] | None  # type: ignore[valid-type]


class Token(Answer):
    """A fresh Supervisor JWT for the SDK's `init()`."""

    token: str

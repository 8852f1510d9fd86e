"""The JSON answers of the portal's endpoints, as pydantic models for the OpenAPI
document. Only the fields a client relies on are listed; answers may carry more
(`extra="allow"`), so a new field never makes the document wrong. A vendor's own
endpoints' answers are its provider's (`Provider.api_operations`)."""
from __future__ import annotations

from typing import Any, Literal

from portal.core.openapi import Answer

from portal.proctoring.results import OUTCOMES

Outcome = Literal[OUTCOMES]  # type: ignore[valid-type]


_Answer = Answer


class ProblemItem(_Answer):
    """One reason a body was refused: the field (a path, "" for the whole body)."""

    field: str
    message: str


class Error(_Answer):
    """Every refusal: a message a person can act on, the HTTP status, and for bodies
    that were read, each problem found. Deliveries also say their log outcome."""

    error: str
    status: int
    problems: list[ProblemItem] | None = None
    outcome: Outcome | None = None


class Question(_Answer):
    id: int
    kind: Literal["single", "multiple", "text"]
    prompt: str
    options: list[str]
    points: float
    answer: Any = None


class Questions(_Answer):
    state: str
    deadline: str
    now: str
    questions: list[Question]


class AnswerSaved(_Answer):
    saved: bool
    question: int
    value: Any = None
    updated_at: str
    # The attempt's deadline now (an instructor's allowance moves it) and the server's
    # clock: the page re-bases its timer on every such answer.
    deadline: str | None = None
    now: str


class Submitted(_Answer):
    state: str
    score: float | None
    max_score: float | None
    result_url: str


class Started(_Answer):
    state: str
    started_at: str | None
    deadline: str | None


class Stopped(_Answer):
    state: str
    closed: bool


class MetricsStored(_Answer):
    stored: int
    deadline: str | None = None  # as in AnswerSaved
    now: str


class Health(_Answer):
    status: Literal["ok", "unavailable"]
    database: str

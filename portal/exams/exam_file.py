"""The exam file's shape (portal/exams/importer.py reads the file), validated with pydantic
as the deliveries are: one model per object, one message per rule, in words the author of
the file acts on. `problems()` turns a ValidationError into (location, message) pairs; the
importer adds file names and line numbers."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      ValidationError, ValidationInfo, field_validator, model_validator)

from portal.exams.models import (DEFAULT_SHOW_POINTS, DEFAULT_THRESHOLD, QUESTION_KINDS,
                                 SHOW_POINTS, VENDORS)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _required(kind: type, key: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if value is None or not isinstance(value, kind) or kind is int and not _is_int(value):
            raise ValueError(f"'{key}' is required ({kind.__name__})")
        return value
    return BeforeValidator(check)


def _texts(key: str) -> BeforeValidator:
    def check(value: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"'{key}' must be a list of strings")
        return value
    return BeforeValidator(check)


def _date(key: str) -> BeforeValidator:
    def check(value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            parsed = value
        else:
            try:
                parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"'{key}': {value!r} is not an ISO-8601 date-time") from None
        return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed
    return BeforeValidator(check)


def _positive(key: str) -> AfterValidator:
    def check(value: int) -> int:
        if value <= 0:
            raise ValueError(f"'{key}' must be positive")
        return value
    return AfterValidator(check)


def _threshold(value: Any) -> int:
    if not _is_int(value) or not 0 <= value <= 100:
        raise ValueError(f"'threshold' must be a whole number 0-100 (the proctoring score "
                         f"under which an attempt is flagged; default {DEFAULT_THRESHOLD})")
    return value


def _show_points(value: Any) -> str:
    if value not in SHOW_POINTS:
        raise ValueError(f"'show_points' must be one of {', '.join(SHOW_POINTS)} "
                         f"(default {DEFAULT_SHOW_POINTS})")
    return value


def _template(value: Any) -> str | None:
    if value is not None and not str(value).isalnum():
        raise ValueError("'proctoring_template' must be A-Za-z0-9")
    return None if value is None else str(value)


def _vendor(value: Any) -> str | None:
    if value is not None and value not in VENDORS:
        raise ValueError(f"'vendor' must be one of {', '.join(VENDORS)}")
    return value


def _inactivity(value: Any) -> int | None:
    if value is not None and (not _is_int(value) or value <= 0):
        raise ValueError("'inactivity_timeout_minutes' must be a whole number of minutes > 0")
    return value


def _points(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError("'points' must be a number >= 0")
    return float(value)


class QuestionFile(BaseModel):
    """One question: `single` and `multiple` list options and name the correct ones by
    number; `text` lists the accepted answers (compared case-insensitively)."""

    model_config = ConfigDict(extra="ignore")

    kind: str
    prompt: Annotated[str, _required(str, "prompt")] = Field(None, validate_default=True)
    points: Annotated[float, BeforeValidator(_points)] = 1.0
    options: list[str] = []
    correct: list[Any] = []

    @model_validator(mode="before")
    @classmethod
    def _kind_first(cls, data: Any) -> Any:
        """The kind decides every other rule: nothing else is checked without one."""
        if not isinstance(data, dict):
            raise ValueError("must be an object")
        if data.get("kind") not in QUESTION_KINDS:
            raise ValueError(f"'kind' must be one of {', '.join(QUESTION_KINDS)}")
        return data

    @field_validator("options", mode="before")
    @classmethod
    def _options(cls, value: Any, info: ValidationInfo) -> list[str]:
        if info.data.get("kind") == "text":
            return []
        if not isinstance(value, list) or len(value) < 2 or not all(
                isinstance(option, str) for option in value):
            raise ValueError("'options' must list at least two strings")
        return value

    @field_validator("correct", mode="before")
    @classmethod
    def _correct(cls, value: Any, info: ValidationInfo) -> list[Any]:
        kind = info.data.get("kind")
        if kind == "text":
            answers = [value] if isinstance(value, str) else value
            if not isinstance(answers, list) or not answers or not all(
                    isinstance(answer, str) for answer in answers):
                raise ValueError("'correct' must be the accepted answer text "
                                 "(or a list of them)")
            return answers
        if "options" not in info.data:  # the options' own error says it all
            return []
        count = len(info.data["options"])
        indexes = [value] if kind == "single" else value
        if not isinstance(indexes, list) or not indexes or not all(
                _is_int(index) and 0 <= index < count for index in indexes):
            expected = "an option number" if kind == "single" else "a list of option numbers"
            raise ValueError(f"'correct' must be {expected} 0-{count - 1}")
        return sorted(set(indexes))


class ExamFile(BaseModel):
    """The whole file (the format is described in portal/exams/importer.py)."""

    model_config = ConfigDict(extra="ignore")

    title: Annotated[str, _required(str, "title")] = Field(None, validate_default=True)
    slug: str | None = None
    description: str | None = None
    time_limit_minutes: Annotated[int, _required(int, "time_limit_minutes"),
                                  _positive("time_limit_minutes")] = Field(
        None, validate_default=True)
    opens_at: Annotated[datetime | None, _date("opens_at")] = None
    closes_at: Annotated[datetime | None, _date("closes_at")] = None
    proctoring_template: Annotated[str | None, BeforeValidator(_template)] = None
    vendor: Annotated[str | None, BeforeValidator(_vendor)] = None
    threshold: Annotated[int, BeforeValidator(_threshold)] = DEFAULT_THRESHOLD
    show_points: Annotated[str, BeforeValidator(_show_points)] = DEFAULT_SHOW_POINTS
    inactivity_timeout_minutes: Annotated[int | None, BeforeValidator(_inactivity)] = None
    proctors: Annotated[list[str], _texts("proctors")] = []
    tags: Annotated[list[str], _texts("tags")] = []
    questions: list[QuestionFile] = Field(None, validate_default=True)

    @field_validator("questions", mode="before")
    @classmethod
    def _some_questions(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise ValueError("'questions' must be a non-empty list")
        return value

    @model_validator(mode="after")
    def _closes_after_opens(self) -> ExamFile:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("'closes_at' must be after 'opens_at'")
        if not self.slug:
            self.slug = self.title.lower().replace(" ", "-").replace(":", "")[:64]
        return self


def problems(error: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    """Each problem as (location, message): the location is the path into the file
    (`("questions", 0, "correct")`), the message says what the field must be."""
    found = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        location = tuple(item["loc"])
        if item["type"] in ("missing", "string_type", "list_type", "int_type") and location:
            key = location[-1]
            message = f"'{key}' {'is required' if item['type'] == 'missing' else message.lower()}"
        found.append((location, message))
    return found

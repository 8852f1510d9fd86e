"""The JSON bodies of the student's exam API, validated with pydantic (and described by
the same models in the OpenAPI document, portal/api/openapi.py)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# What each kind of question takes (exams/grading.py checks it against the question).
ANSWER_VALUE_SCHEMA = {
    "description": "single: the option's number; multiple: a list of option numbers; "
                   "text: at most 2000 characters; null clears the answer.",
    "anyOf": [{"type": "integer", "minimum": 0},
              {"type": "array", "items": {"type": "integer", "minimum": 0}},
              {"type": "string", "maxLength": 2000}, {"type": "null"}],
}


class AnswerBody(BaseModel):
    """`PUT /api/attempts/<id>/answers/<question>`: `{"value": ...}`."""

    model_config = ConfigDict(extra="ignore")

    # Any: the question decides the type (grading.validate_answer), so the message can
    # name the question's own options.
    value: Any = Field(json_schema_extra=ANSWER_VALUE_SCHEMA)

    @model_validator(mode="before")
    @classmethod
    def _value_given(cls, data: Any) -> Any:
        if isinstance(data, dict) and "value" not in data:
            raise ValueError('send {"value": ...} (null clears the answer)')
        return data

"""Scoring answers against a question's correct answer. Pure functions."""
from __future__ import annotations

from typing import Any

from portal.exams.models import Question


def points_for(question: Question, value: Any) -> float:
    """Full points for a fully correct answer, else 0 (no partial credit)."""
    if value is None:
        return 0.0
    if question.kind == "single":
        return question.points if [value] == list(question.correct) else 0.0
    if question.kind == "multiple":
        return question.points if sorted(value) == sorted(question.correct) else 0.0
    accepted = {str(a).strip().casefold() for a in question.correct}
    return question.points if str(value).strip().casefold() in accepted else 0.0


def validate_answer(question: Question, value: Any) -> Any:
    """The answer in canonical form; raises ValueError with a message for the student."""
    if value is None:
        return None
    if question.kind == "single":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < len(question.options):
            raise ValueError(f"question {question.id}: choose one of options 0-{len(question.options) - 1}")
        return value
    if question.kind == "multiple":
        if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(question.options)
                for v in value):
            raise ValueError(f"question {question.id}: send a list of option numbers "
                             f"0-{len(question.options) - 1}")
        return sorted(set(value))
    if not isinstance(value, str) or len(value) > 2000:
        raise ValueError(f"question {question.id}: send text of at most 2000 characters")
    return value

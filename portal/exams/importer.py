"""Exam import from JSON or YAML, validated (exam_file.ExamFile) with line-precise errors.

Format (YAML shown; JSON has the same shape):

    slug: tutorial            # unique; re-importing a slug with no attempts replaces it
    title: "Tutorial: proctoring"
    description: ...
    time_limit_minutes: 30
    opens_at: 2026-01-01T00:00:00Z     # optional
    closes_at: 2026-12-31T23:59:59Z    # optional
    proctoring_template: default        # optional (else PROCTOR_TEMPLATE)
    vendor: supervisor | constructor    # optional (else PROCTOR_VENDOR)
    threshold: 50                       # optional, 0-100: a proctoring score under it is
                                        # flagged, unless the vendor's result has its own
    show_points: after_close            # optional: when the result page shows points per
                                        # question: after_submission | after_close (once
                                        # closes_at has passed; never without closes_at,
                                        # the default) | never. The total is always shown.
    inactivity_timeout_minutes: 5       # optional: the proctoring session's idle limit
    proctors: [proctor1]                # optional: who may join as proctor (token `invites`)
    tags: [spring]                      # optional
    questions:
      - kind: single | multiple | text
        prompt: ...
        options: [..]                   # single and multiple
        correct: 1 | [0, 2] | ["answer", "other accepted answer"]
        points: 1
"""
from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select

from portal.exams import exam_file
from portal.exams.models import Attempt, Exam, Question
from portal.extensions import db


class ImportError_(ValueError):
    """A file that cannot be imported; the message names the line and the field."""


class _LineLoader(yaml.SafeLoader):
    """Records the source line of every mapping, for error messages."""


def _construct_mapping(loader, node, deep=False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse(text: str, filename: str) -> dict[str, Any]:
    """Parse JSON or YAML (JSON is YAML, so one loader gives lines for both)."""
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ImportError_(f"{filename}:{where}: not valid JSON/YAML: "
                           f"{getattr(error, 'problem', error)}") from None
    if filename.endswith(".json"):
        try:  # JSON-specific errors (e.g. trailing commas) YAML would accept
            json.loads(text)
        except json.JSONDecodeError as error:
            raise ImportError_(f"{filename}:line {error.lineno}: not valid JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise ImportError_(f"{filename}:line 1: expected an object with title and questions")
    return data


def _line(data: dict[str, Any], location: tuple[Any, ...], filename: str) -> str:
    """Where a problem is: the question's own line for anything inside a question."""
    if len(location) >= 2 and location[0] == "questions" and isinstance(location[1], int):
        raw = data["questions"][location[1]]
        line = raw.get("__line__", "?") if isinstance(raw, dict) else "?"
        return f"{filename}:line {line} (question {location[1] + 1})"
    return f"{filename}:line {data.get('__line__', 1)}"


def build_exam(data: dict[str, Any], filename: str) -> Exam:
    """Validate (exam_file.ExamFile) and build, not add, an Exam with its questions.

    Raises ImportError_ listing every problem, each with its file and line."""
    try:
        checked = exam_file.ExamFile.model_validate(data)
    except ValidationError as error:
        raise ImportError_("\n".join(f"{_line(data, location, filename)}: {message}"
                                      for location, message in exam_file.problems(error))) from None
    questions = [Question(position=position, kind=q.kind, prompt=q.prompt, options=q.options,
                          correct=q.correct, points=q.points)
                 for position, q in enumerate(checked.questions, start=1)]
    return Exam(slug=checked.slug, title=checked.title, description=checked.description or "",
                time_limit_minutes=checked.time_limit_minutes, opens_at=checked.opens_at,
                closes_at=checked.closes_at, proctoring_template=checked.proctoring_template,
                vendor=checked.vendor, threshold=checked.threshold,
                show_points=checked.show_points,
                inactivity_timeout_minutes=checked.inactivity_timeout_minutes,
                proctors=checked.proctors, tags=checked.tags, questions=questions)


def import_exam(text: str, filename: str) -> tuple[Exam, bool]:
    """Add the exam (replacing one with the same slug that has no attempts).

    Returns (exam, replaced). Raises ImportError_ with every problem found."""
    exam = build_exam(parse(text, filename), filename)
    existing = db.session.scalar(select(Exam).where(Exam.slug == exam.slug))
    if existing is not None:
        if db.session.scalar(select(Attempt.id).where(Attempt.exam_id == existing.id).limit(1)):
            raise ImportError_(f"{filename}: exam '{exam.slug}' already has attempts; "
                               "import it under a new slug")
        db.session.delete(existing)
        db.session.flush()
    db.session.add(exam)
    db.session.flush()
    return exam, existing is not None

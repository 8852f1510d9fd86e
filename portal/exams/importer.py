"""Exam import from JSON or YAML, validated with line-precise errors.

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
    questions:
      - kind: single | multiple | text
        prompt: ...
        options: [..]                   # single and multiple
        correct: 1 | [0, 2] | ["answer", "other accepted answer"]
        points: 1
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import yaml
from sqlalchemy import select

from portal.exams.models import (DEFAULT_SHOW_POINTS, DEFAULT_THRESHOLD, QUESTION_KINDS,
                                 SHOW_POINTS, VENDORS, Attempt, Exam, Question)
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


def _date(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ImportError_(f"{where}: {value!r} is not an ISO-8601 date-time") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


def build_exam(data: dict[str, Any], filename: str) -> Exam:
    """Validate and build (not add) an Exam with its questions."""
    where = f"{filename}:line {data.get('__line__', 1)}"
    errors: list[str] = []

    def need(key: str, kind: type | tuple[type, ...], at: str, obj: dict) -> Any:
        value = obj.get(key)
        if value is None or not isinstance(value, kind) or isinstance(value, bool) and kind is int:
            errors.append(f"{at}: '{key}' is required ({getattr(kind, '__name__', 'value')})")
        return value

    title = need("title", str, where, data)
    slug = data.get("slug") or (title or "").lower().replace(" ", "-").replace(":", "")[:64]
    limit = need("time_limit_minutes", int, where, data)
    if isinstance(limit, int) and limit <= 0:
        errors.append(f"{where}: 'time_limit_minutes' must be positive")
    vendor = data.get("vendor")
    if vendor is not None and vendor not in VENDORS:
        errors.append(f"{where}: 'vendor' must be one of {', '.join(VENDORS)}")
    template = data.get("proctoring_template")
    if template is not None and not str(template).isalnum():
        errors.append(f"{where}: 'proctoring_template' must be A-Za-z0-9")
    threshold = data.get("threshold", DEFAULT_THRESHOLD)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 0 <= threshold <= 100:
        errors.append(f"{where}: 'threshold' must be a whole number 0-100 (the proctoring "
                      f"score under which an attempt is flagged; default {DEFAULT_THRESHOLD})")
    show_points = data.get("show_points", DEFAULT_SHOW_POINTS)
    if show_points not in SHOW_POINTS:
        errors.append(f"{where}: 'show_points' must be one of {', '.join(SHOW_POINTS)} "
                      f"(default {DEFAULT_SHOW_POINTS})")
    opens, closes = _date(data.get("opens_at"), where), _date(data.get("closes_at"), where)
    if opens and closes and closes <= opens:
        errors.append(f"{where}: 'closes_at' must be after 'opens_at'")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        errors.append(f"{where}: 'questions' must be a non-empty list")
        raw_questions = []
    questions = []
    for position, raw in enumerate(raw_questions, start=1):
        if not isinstance(raw, dict):
            errors.append(f"{where}: question {position} must be an object")
            continue
        at = f"{filename}:line {raw.get('__line__', '?')} (question {position})"
        kind = raw.get("kind")
        if kind not in QUESTION_KINDS:
            errors.append(f"{at}: 'kind' must be one of {', '.join(QUESTION_KINDS)}")
            continue
        prompt = need("prompt", str, at, raw)
        options = raw.get("options") or []
        correct = raw.get("correct")
        points = raw.get("points", 1)
        if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
            errors.append(f"{at}: 'points' must be a number >= 0")
        if kind in ("single", "multiple"):
            if not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, str) for o in options):
                errors.append(f"{at}: 'options' must list at least two strings")
                continue
            indexes = [correct] if kind == "single" else correct
            if not isinstance(indexes, list) or not indexes or not all(
                    isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(options) for i in indexes):
                errors.append(f"{at}: 'correct' must be {'an option number' if kind == 'single' else 'a list of option numbers'} 0-{len(options) - 1}")
                continue
            correct = sorted(set(indexes))
        else:
            correct = [correct] if isinstance(correct, str) else correct
            if not isinstance(correct, list) or not correct or not all(isinstance(c, str) for c in correct):
                errors.append(f"{at}: 'correct' must be the accepted answer text (or a list of them)")
                continue
            options = []
        questions.append(Question(position=position, kind=kind, prompt=prompt, options=options,
                                  correct=correct, points=float(points)))
    if errors:
        raise ImportError_("\n".join(errors))
    return Exam(slug=slug, title=title, description=data.get("description") or "",
                time_limit_minutes=limit, opens_at=opens, closes_at=closes,
                proctoring_template=template, vendor=vendor, threshold=threshold,
                show_points=show_points,
                inactivity_timeout_minutes=data.get("inactivity_timeout_minutes"),
                proctors=list(data.get("proctors") or []), tags=list(data.get("tags") or []),
                questions=questions)


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

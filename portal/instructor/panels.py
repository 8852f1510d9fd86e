"""What the dashboard's instructor sections show: the data their partials render
(templates/dashboard/_allowances.html, _reopen.html, _decision.html, _history.html)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portal.exams.models import Attempt
from portal.extensions import db
from portal.instructor import allowances, decisions, history, reopen
from portal.exams.models import Allowance
from portal.instructor.models import DECISION_LABELS, DECISIONS, ReviewDecision
from portal.proctoring.models import ProctoringResult


@dataclass
class AllowancePanel:
    allowances: list[Allowance]
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class AttemptPanel:
    decision: ReviewDecision | None
    verdict_changed: bool
    reopened_from: Attempt | None
    reopened_as: Attempt | None
    history: list[history.Event]
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    choices: tuple[tuple[str, str], ...] = tuple((d, DECISION_LABELS[d]) for d in DECISIONS)


def exam_panel(exam_id: int, errors: dict[str, str] | None = None,
               values: dict[str, Any] | None = None) -> AllowancePanel:
    return AllowancePanel(allowances.for_exam(exam_id), errors or {}, values or {})


def attempt_panel(attempt: Attempt, result: ProctoringResult | None,
                  errors: dict[str, str] | None = None,
                  values: dict[str, Any] | None = None) -> AttemptPanel:
    decision = decisions.for_attempt(attempt.id)
    earlier = db.session.get(Attempt, attempt.reopened_from_id) if attempt.reopened_from_id else None
    return AttemptPanel(decision, decisions.verdict_changed(decision, result), earlier,
                        reopen.successor(attempt), history.timeline(attempt),
                        errors or {}, values or {})

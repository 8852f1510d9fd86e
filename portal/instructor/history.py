"""An attempt's history: one ordered timeline built from the append-only sources.

Sources: the attempt's own write-once times (created, the page's start and stop
reports, the vendor's confirmation, the questions' release, the close and its reason),
the delivery log (webhook_deliveries: each delivery applied or refused), the page's
metrics samples (summed up), and the staff log (allowances, reopen, decisions). Nothing
here writes; the template only renders what `timeline` returns.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select

from portal.exams.models import EXPIRED, SUBMITTED, TERMINATED, Attempt
from portal.extensions import db
from portal.instructor.models import DECISION_LABELS, StaffAction
from portal.proctoring.models import MetricSample, WebhookDelivery

APPLIED = "applied"


@dataclass(frozen=True)
class Event:
    """One line of the timeline: when, what (a short title), who, and why or detail."""

    at: datetime
    kind: str  # a CSS-friendly code: created, started, delivery, metrics, closed, ...
    title: str
    actor: str
    reason: str = ""
    link_attempt_id: int | None = None  # another attempt this event names


def _closer(attempt: Attempt) -> str:
    if attempt.state == SUBMITTED:
        return "the student"
    if attempt.state == EXPIRED:
        return "the portal (time limit)"
    if attempt.state == TERMINATED and attempt.page_stopped_at is not None:
        return "the student's page (proctoring stopped)"
    return "the proctoring server"


def _attempt_events(attempt: Attempt) -> list[Event]:
    events = [Event(attempt.created_at, "created",
                    "Attempt created" + (" (reopened by an instructor)"
                                         if attempt.reopened_from_id else ""),
                    "the student" if not attempt.reopened_from_id else "an instructor",
                    link_attempt_id=attempt.reopened_from_id)]
    if attempt.page_started_at:
        events.append(Event(attempt.page_started_at, "page", "Start reported by the page",
                            "the student's page", "the page's word, not proof"))
    if attempt.vendor_started_at:
        events.append(Event(attempt.vendor_started_at, "vendor",
                            "Start confirmed by the proctoring server", attempt.vendor))
    if attempt.started_at:
        events.append(Event(attempt.started_at, "started",
                            "Questions released: the time limit counts from here", "the portal"))
    if attempt.page_stopped_at:
        events.append(Event(attempt.page_stopped_at, "page", "Stop reported by the page",
                            "the student's page", "the page's word, not proof"))
    if attempt.closed_at:
        events.append(Event(attempt.closed_at, "closed",
                            f"Closed ({attempt.state})", _closer(attempt),
                            attempt.close_reason or ""))
    return events


def _delivery_events(attempt: Attempt) -> list[Event]:
    rows = db.session.execute(
        select(WebhookDelivery.received_at, WebhookDelivery.status, WebhookDelivery.outcome,
               WebhookDelivery.detail, WebhookDelivery.vendor)
        .where(WebhookDelivery.identifier == attempt.identifier)
        .order_by(WebhookDelivery.received_at, WebhookDelivery.id))
    events = []
    for at, status, outcome, detail, vendor in rows:
        verb = "applied" if outcome == APPLIED else f"refused ({outcome})"
        what = f"Delivery “{status}” {verb}" if status else f"Delivery {verb}"
        events.append(Event(at, "delivery" if outcome == APPLIED else "refused", what,
                            f"the proctoring server ({vendor})", detail or ""))
    return events


def _metrics_event(attempt: Attempt) -> list[Event]:
    count, violated, first, last = db.session.execute(
        select(func.count(MetricSample.id),
               func.sum(case((MetricSample.violated.is_(True), 1), else_=0)),
               func.min(MetricSample.recorded_at), func.max(MetricSample.recorded_at))
        .where(MetricSample.attempt_id == attempt.id)).one()
    if not count:
        return []
    span = f"from {first:%H:%M:%S} to {last:%H:%M:%S} UTC"
    return [Event(first, "metrics",
                  f"{count} metrics event{'s' if count != 1 else ''} from the page, "
                  f"{int(violated or 0)} violated", "the student's page", span)]


def _staff_title(row: StaffAction, attempt: Attempt) -> tuple[str, int | None]:
    details = row.details or {}
    if row.kind in ("allowance_added", "allowance_removed"):
        verb = "added" if row.kind == "allowance_added" else "removed"
        text = f"Allowance of {details.get('extra_minutes')} extra minutes {verb}"
        if details.get("deadline_to"):
            text += f"; deadline now {details['deadline_to'][:19].replace('T', ' ')} UTC"
        return text, None
    if row.kind == "reopened":
        if row.attempt_id == attempt.id:
            return "Reopened: replaced by a new attempt", details.get("new_attempt_id")
        return "Reopened from an earlier attempt", row.attempt_id
    label = DECISION_LABELS.get(details.get("decision"), details.get("decision"))
    verdict = details.get("verdict") or "no verdict"
    return f"Decision: {label} (the proctor's verdict then: {verdict})", None


def _staff_events(attempt: Attempt) -> list[Event]:
    allowance = StaffAction.kind.in_(("allowance_added", "allowance_removed"))
    same_student = and_(StaffAction.exam_id == attempt.exam_id,
                        StaffAction.user_id == attempt.user_id)
    conditions = [StaffAction.attempt_id == attempt.id,
                  and_(allowance, same_student, StaffAction.attempt_id.is_(None))]
    if attempt.reopened_from_id:
        conditions.append(and_(StaffAction.kind == "reopened",
                               StaffAction.attempt_id == attempt.reopened_from_id))
    rows = db.session.scalars(select(StaffAction).where(or_(*conditions))
                              .order_by(StaffAction.at, StaffAction.id))
    events = []
    for row in rows:
        title, link = _staff_title(row, attempt)
        events.append(Event(row.at, row.kind, title, row.actor_name, row.reason or "",
                            link_attempt_id=link))
    return events


def timeline(attempt: Attempt) -> list[Event]:
    """Everything that happened to the attempt, oldest first (ties keep source order)."""
    events = (_attempt_events(attempt) + _metrics_event(attempt) + _delivery_events(attempt)
              + _staff_events(attempt))
    return sorted(events, key=lambda event: event.at)

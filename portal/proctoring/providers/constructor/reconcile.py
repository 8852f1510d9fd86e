"""Verdict reconciliation: ask Constructor about attempts that ended without news.

A closed Constructor attempt whose result is missing (or still `started`) after
VERDICT_GRACE_MINUTES gets one status call (`GET .../sessions/<id>/status/`); what the
vendor says is recorded like a delivery (the log shows it, `Key-Used: status call`) and
applied by the ordering rule, where it never outranks a real review (see
constructor.status_update). `flask --app wsgi proctor reconcile` runs it
once; the outbox worker runs it every OUTBOX_RECONCILE_SECONDS (default 300).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import requests
from flask import current_app
from sqlalchemy import or_, select

from portal.db_types import utcnow
from portal.exams.models import CLOSED_STATES, Attempt
from portal.extensions import db
from portal.proctoring import providers, results
from portal.proctoring.models import ProctoringResult
from portal.proctoring.outbox import http
from portal.proctoring.outbox.outcomes import excerpt
from portal.proctoring.providers import constructor

log = logging.getLogger("portal.outbox.reconcile")
BATCH = 100  # attempts per run, oldest first: one run stays short


Report = providers.ReconcileReport


def candidates(now: datetime | None = None, limit: int = BATCH) -> list[Attempt]:
    """Closed Constructor attempts, closed longer than the grace period ago, with no
    result or a result that is still `started`, oldest first."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=current_app.config["VERDICT_GRACE_MINUTES"])
    query = (select(Attempt)
             .outerjoin(ProctoringResult, ProctoringResult.attempt_id == Attempt.id)
             .where(Attempt.vendor == constructor.VENDOR, Attempt.state.in_(CLOSED_STATES),
                    Attempt.closed_at <= cutoff,
                    or_(ProctoringResult.id.is_(None), ProctoringResult.status.is_(None),
                        ProctoringResult.status == "started"))
             .order_by(Attempt.closed_at, Attempt.id).limit(limit))
    return list(db.session.scalars(query))


def run(now: datetime | None = None) -> Report:
    """Ask about every candidate; commit after each one recorded. Network failures are
    logged and left for the next run. Raises constructor.NotConfigured without a secret."""
    report = Report()
    for attempt in candidates(now):
        identifier = attempt.identifier
        try:
            response = http.session().get(constructor.session_api_url(identifier, "status"),
                                          headers=constructor.auth_header(),
                                          timeout=http.timeout(), allow_redirects=False)
        except requests.RequestException as error:
            report.errors[identifier] = excerpt(f"{type(error).__name__}: {error}")
            log.warning("reconcile attempt %s session %s: no answer: %s", attempt.id,
                        identifier, report.errors[identifier])
            continue
        answer = _json_object(response)
        if response.status_code == 404:
            # Never created on the vendor's side: the student never got past the start
            # form. Recorded as such (skipped), so it is not asked about again.
            report.unknown.append(identifier)
            log.warning("reconcile attempt %s session %s: the vendor does not know this "
                        "session (404); recorded as skipped", attempt.id, identifier)
            answer = {"status": "unknown_session"}
        elif response.status_code != 200 or answer is None:
            report.errors[identifier] = excerpt(f"HTTP {response.status_code}: {response.text}")
            log.error("reconcile attempt %s session %s: %s", attempt.id, identifier,
                      report.errors[identifier])
            continue
        raw = results.RawDelivery(
            vendor=constructor.VENDOR, content_type=response.headers.get("Content-Type"),
            headers={"Key-Used": "status call", "Status": str(response.status_code),
                     "Url": response.url[:500]},
            body=response.text.replace("\x00", "\ufffd"))
        outcome = results.record_and_apply(raw, constructor.status_update(identifier, answer))
        db.session.commit()
        if response.status_code == 200:
            report.recorded[identifier] = outcome
        log.info("reconcile attempt %s session %s: vendor status %r -> %s", attempt.id,
                 identifier, answer.get("status"), outcome)
    return report


def _json_object(response: requests.Response) -> dict | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None

"""Constructor Proctor (formerly Examus), contract section 2.

- Start: **Start exam** answers with a page that form-POSTs a signed `token` to
  `CONSTRUCTOR_URL/integration/simple/<integration>/start/`; the vendor's app frames
  `sessionUrl` (our framed test page), which reports the start itself.
- Finish: closing the attempt enqueues a `constructor_finish` outbox job in the same
  transaction; the worker (portal/proctoring/outbox/) sends it with retries (one try:
  finish.py).
- Server-to-server calls carry `Authorization: JWT <token>`, payload `{"exp": now + 30}`,
  made fresh for every request (`server_token`).
- Review (vendor -> portal): `review_update` maps a result onto the vendor-neutral
  `ResultUpdate`; `status_update` does the same for a status call's answer.
- Status (portal -> vendor): before the questions are released, `confirm_start` asks
  `GET .../sessions/<id>/status/` once per start report until the vendor says
  `started` (or a review arrived), and caches the confirmation on the attempt.

Every Constructor fact lives in this package: this module (settings, tokens, the
status call, the review's mapping), `provider.py` (the provider the portal calls),
`views.py` (its endpoints), `finish.py` (the finish job's one try), `reconcile.py`
(status calls for attempts that ended without a verdict). HTTP retries live in the outbox.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import requests
from flask import current_app
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints,
                      ValidationError)

from portal.db_types import isoformat_z, utcnow
from portal.exams import deadlines
from portal.exams.models import Attempt
from portal.proctoring import providers, tokens
from portal.proctoring.outbox import http, jobs
from portal.proctoring.outbox.models import OutboxJob
from portal.proctoring.ordering import ResultUpdate
from portal.core.jsonbody import Text
from portal.proctoring.schemas import Date, InvalidDelivery, Problem, Score, parse_date
from portal.urls import public_url

VENDOR = "constructor"
FINISH_JOB = "constructor_finish"
SERVER_TOKEN_TTL = 30  # seconds, as the vendor prescribes ("current time + 30 seconds")
PROCTORING_MODE = "online"  # online | offline | auto: a proctor watches live
# Before the first question the vendor runs identity and system checks; a session not
# yet started may begin until this long after the time limit would allow.
CHECKS_ALLOWANCE = timedelta(minutes=60)
# The status call is made while the student's page waits: (connect, read) seconds.
STATUS_TIMEOUT = (3.05, 5.0)
# Vendor statuses of a session that has not started yet but may (the student is still
# in the vendor's checks): the page waits and asks again.
NOT_YET_STARTED = ("not_scheduled", "early_to_start", "ready_to_start", "late_to_start")


class NotConfigured(providers.NotConfigured):
    """CONSTRUCTOR_JWT_SECRET is missing (it is not required outside Constructor use)."""


# ---- settings and addresses ---------------------------------------------------------

def secret() -> str:
    """The shared HS256 secret. Raises NotConfigured when it is not set."""
    value = current_app.config.get("CONSTRUCTOR_JWT_SECRET")
    if not value:
        raise NotConfigured("CONSTRUCTOR_JWT_SECRET is not set; Constructor Proctor cannot be used")
    return value


def start_url() -> str:
    config = current_app.config
    return f"{config['CONSTRUCTOR_URL']}/integration/simple/{config['CONSTRUCTOR_INTEGRATION']}/start/"


def session_api_url(session_id: str, action: str) -> str:
    """`.../api/v2/integration/simple/<integration>/sessions/<id>/<action>/`."""
    config = current_app.config
    return (f"{config['CONSTRUCTOR_URL']}/api/v2/integration/simple/"
            f"{config['CONSTRUCTOR_INTEGRATION']}/sessions/{quote(session_id, safe='')}/{action}/")


# ---- tokens -------------------------------------------------------------------------

def server_token(now: datetime | None = None) -> str:
    """A fresh `Authorization: JWT` token: `{"exp": now + 30}`. Make one per request.

    Raises NotConfigured without a secret."""
    return tokens.sign({"exp": tokens.expiry(SERVER_TOKEN_TTL, now or utcnow())}, secret())


def auth_header(now: datetime | None = None) -> dict[str, str]:
    return {"Authorization": f"JWT {server_token(now)}"}


def _names(display_name: str) -> dict[str, str]:
    first, _, last = display_name.strip().partition(" ")
    names = {"firstName": first, "lastName": last.strip()}
    return {key: value for key, value in names.items() if value}


def start_payload(attempt: Attempt, now: datetime | None = None) -> dict[str, Any]:
    """The start token's payload: the contract's required fields plus what we know.

    `sessionId` is the attempt's identifier, so every start of this attempt (a resume,
    a second click) continues the same vendor session."""
    now = now or utcnow()
    config = current_app.config
    exam, user = attempt.exam, attempt.user
    start = exam.opens_at or attempt.created_at
    # The vendor ends the session after `duration`: the student's allowances count.
    duration = exam.time_limit_minutes + deadlines.extra_minutes(exam.id, user.id)
    end = exam.closes_at or attempt.deadline_at or (
        now + timedelta(minutes=duration) + CHECKS_ALLOWANCE)
    payload: dict[str, Any] = {
        "exp": tokens.expiry(config["PROCTOR_TOKEN_TTL"], now),
        "iat": int(now.timestamp()),
        "userId": user.public_id,
        **_names(user.display_name),
        "accountId": config["CONSTRUCTOR_ACCOUNT_ID"],
        "accountName": config["CONSTRUCTOR_ACCOUNT_NAME"],
        "examId": exam.slug,
        "examName": exam.title,
        "duration": duration,
        "schedule": False,
        "proctoring": PROCTORING_MODE,
        "startDate": isoformat_z(start),
        "endDate": isoformat_z(end),
        "sessionId": attempt.identifier,
        "sessionUrl": public_url("proctoring.framed_attempt", attempt_id=attempt.id),
        # Where the vendor sends the student when the test is over (the finish call
        # repeats it; the vendor keeps the latest).
        "sessionFinishUrl": public_url("exams.result", attempt_id=attempt.id),
    }
    if user.lang:
        payload["language"] = user.lang
    return payload


def start_token(attempt: Attempt, now: datetime | None = None) -> str:
    return tokens.sign(start_payload(attempt, now), secret())


class StatusUnavailable(Exception):
    """The status call got no usable answer (network error, timeout, non-JSON, 5xx...)."""


def session_status(session_id: str) -> str:
    """The vendor's status of a session (`started`, `ready_to_start`, ...), or
    `unknown_session` when it answers 404. One call, short timeouts, no redirects.

    Raises StatusUnavailable (the message says what went wrong), NotConfigured."""
    try:
        response = http.session().get(session_api_url(session_id, "status"),
                                      headers=auth_header(), timeout=STATUS_TIMEOUT,
                                      allow_redirects=False)
    except requests.RequestException as error:
        raise StatusUnavailable(f"{type(error).__name__}") from None
    if response.status_code == 404:
        return "unknown_session"
    if response.status_code != 200:
        raise StatusUnavailable(f"HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    status = answer.get("status") if isinstance(answer, dict) else None
    if not isinstance(status, str) or not status:
        raise StatusUnavailable("an answer without a status")
    return status


def enqueue_finish(attempt: Attempt) -> OutboxJob:
    """The attempt's finish job (created if missing), in the caller's transaction.
    `sessionFinishUrl` is the result page (from PUBLIC_URL, also in a worker or the CLI)."""
    return jobs.enqueue(FINISH_JOB, attempt,
                        {"sessionFinishUrl": public_url("exams.result", attempt_id=attempt.id)})


def finish_superseded(attempt: Attempt) -> OutboxJob:
    """A reopened attempt's finish job, in the caller's transaction: enqueued if
    missing, re-queued if it failed, left alone while pending or once done."""
    job = enqueue_finish(attempt)
    if job.state == "failed":
        jobs.requeue(job)
    return job


def requeue_finish(attempt: Attempt) -> OutboxJob:
    """An instructor's retry of a failed finish call: failed -> pending, fresh tries.
    A closed attempt with no job (closed before the outbox existed) gets one.

    Raises jobs.JobConflict when the attempt is not a closed Constructor attempt, or its
    job is pending (still being tried) or done."""
    if attempt.vendor != VENDOR:
        raise jobs.JobConflict("This attempt is not proctored by Constructor Proctor.")
    if attempt.is_open:
        raise jobs.JobConflict("The attempt is still open; its finish call is queued when it closes.")
    job = jobs.find(FINISH_JOB, attempt.id)
    if job is None:
        return enqueue_finish(attempt)
    if job.state == "pending":
        raise jobs.JobConflict("The finish call is already queued and being tried.")
    if job.state == "done":
        raise jobs.JobConflict(f"The finish call already succeeded ({job.result_message}).")
    return jobs.requeue(job)




# ---- results (vendor -> portal) -------------------------------------------------------
# Mapping onto the vendor-neutral ResultUpdate (portal/proctoring/results.py):
# - status: conclusion accepted|rejected as is; any other conclusion, or none yet once
#   the session has ended (sessionEnd), is "stopped" (ended, not rated); without
#   sessionEnd the session is still running: "started" (a final status would close a
#   running attempt).
# - signed_at: sessionEnd, else the latest warning's end, else sessionStart. The review
#   carries no time of its own; these are the vendor's times for the session's data, so
#   a retried old delivery never looks newer than it is (the time of receipt, or the
#   request JWT's exp, would: both are made per try). Within one rank (accepted vs
#   rejected after a re-review) no field orders them: results.py's content tie-break
#   decides, the same whatever the arrival order. See docs/constructor.md.
# - threshold: `attention`, the score under which the vendor wants a person to look (what
#   the dashboard's "under threshold" flag means); else `rejected`. Both are kept in
#   details.threshold.

def _id_text(value: Any) -> Any:
    # Ids are text; a number is taken as its digits.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _http_url(value: str | None) -> str | None:
    # The dashboard renders it as a link: http(s) only, never javascript: and the like.
    if value is not None and not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


IdText = Annotated[Text(128), BeforeValidator(_id_text), StringConstraints(min_length=1)]


class _Threshold(BaseModel):
    model_config = ConfigDict(extra="allow")
    attention: Score = None
    rejected: Score = None


class _Warning(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Text(100) | None = None
    start: Date = None
    end: Date = None
    cyber: bool | None = None


class ConstructorReview(BaseModel):
    """Contract section 2, "Result". sessionId is required; every other field may be
    missing or null (a present accountId must be this portal's: the JWT proves the
    sender, the account that the review is meant for); unknown fields are kept
    (`model_extra`). Lengths are those of the columns the fields are stored in."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "description": "A Constructor Proctor review (contract section 2, Result)."})

    accountId: IdText | None = None
    sessionId: IdText
    archive: Annotated[Text(1000) | None, AfterValidator(_http_url)] = None
    conclusion: Text(200) | None = None
    comment: Text(20_000) | None = None
    score: Score = None
    threshold: _Threshold | None = None
    sessionStart: Date = None
    sessionEnd: Date = None
    warnings: list[_Warning | None] | None = None
    warningTitles: dict[Text(100), dict[Text(20), Text(500) | None] | None] | None = None


def _problems(error: ValidationError) -> list[Problem]:
    return [Problem(".".join(str(part) for part in item["loc"]),
                    item["msg"].removeprefix("Value error, "))
            for item in error.errors(include_url=False)]


def _title(kind: str | None, titles: dict[str, dict[str, str | None] | None],
           lang: str = "en") -> str | None:
    """The warning's title in `lang`, else English, else any language, else its type."""
    names = titles.get(kind or "") or {}
    return (names.get(lang) or names.get("en")
            or next((title for title in names.values() if title), kind))


def review_status(review: ConstructorReview) -> str:
    conclusion = (review.conclusion or "").strip().lower()
    if conclusion in ("accepted", "rejected"):
        return conclusion
    return "stopped" if review.sessionEnd is not None or conclusion else "started"


def review_update(fields: dict[str, Any], from_form: bool = False) -> ResultUpdate:
    """A review's fields as a ResultUpdate (mapping rules above).

    Raises InvalidDelivery listing every problem, including an accountId that is not
    CONSTRUCTOR_ACCOUNT_ID."""
    try:
        review = ConstructorReview.model_validate(fields, context={"form": from_form})
    except ValidationError as error:
        raise InvalidDelivery(_problems(error)) from None
    account = str(current_app.config["CONSTRUCTOR_ACCOUNT_ID"])
    if review.accountId is not None and review.accountId != account:
        raise InvalidDelivery([Problem("accountId", f"is not this portal's account ({account})")])
    warnings = [w for w in review.warnings or [] if w is not None]
    titles = review.warningTitles or {}
    ends = [w.end for w in warnings if w.end is not None]
    threshold = review.threshold or _Threshold()
    duration = None
    if review.sessionStart and review.sessionEnd:
        duration = round((review.sessionEnd - review.sessionStart).total_seconds() / 60, 1)
    details: dict[str, Any] = {
        "accountId": review.accountId,
        "archive": review.archive,
        "threshold": {"attention": threshold.attention, "rejected": threshold.rejected},
        "warnings": [{"type": w.type, "title": _title(w.type, titles), "start": isoformat_z(w.start),
                      "end": isoformat_z(w.end), "cyber": w.cyber} for w in warnings],
    }
    if review.model_extra:
        details["extra"] = dict(review.model_extra)
    return ResultUpdate(
        identifier=review.sessionId, status=review_status(review),
        signed_at=review.sessionEnd or (max(ends) if ends else None) or review.sessionStart,
        started_at=review.sessionStart, stopped_at=review.sessionEnd, score=review.score,
        threshold=threshold.attention if threshold.attention is not None else threshold.rejected,
        duration=duration, comment=review.comment, conclusion=review.conclusion,
        link=review.archive, details=details)


# The status call's answer (reconciliation). Sessions that never started count as
# skipped: the attempt it is asked for has closed.
STATUS_RESULTS = {"finished": "stopped", "started": "started", "not_scheduled": "skipped",
                  "early_to_start": "skipped", "ready_to_start": "skipped",
                  "late_to_start": "skipped", "canceled": "skipped",
                  "unknown_session": "skipped"}  # 404: the vendor never saw it


def status_update(identifier: str, answer: dict[str, Any]) -> ResultUpdate:
    """What a status call learned, as a ResultUpdate that never wins over a review:
    it has no time to order by (sessionEnd goes to details), so any review of the same
    rank is newer. An unknown vendor status gives no status (rank 0)."""
    vendor_status = str(answer.get("status") or "")
    started = answer.get("sessionStart")
    try:
        started_at = parse_date(started) if started else None
    except ValueError:
        started_at = None
    return ResultUpdate(
        identifier=identifier, status=STATUS_RESULTS.get(vendor_status), started_at=started_at,
        details={"source": "status call", "vendorStatus": vendor_status[:50],
                 "sessionEnd": str(answer.get("sessionEnd") or "")[:40] or None})


"""Supervisor SDK (ProctorEdu engine): the student token, the proctor link, the page's
settings. The page drives the session (static/js/exam.js); the server signs tokens and
receives the results webhook (webhooks.py). Its endpoints are views.py and webhooks.py,
its delivery schema schemas.py, its checklist check.py; the provider is provider.py."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import current_app, render_template, request, url_for

from portal.db_types import isoformat_z, utcnow
from portal.exams.models import TERMINATED, Attempt
from portal.proctoring import page_events, tokens
from portal.proctoring.metrics import METRIC_ADVICE, METRIC_NAMES
# The token's URLs come from PUBLIC_URL only (portal/urls.py); the views use it from here too.
from portal.urls import public_url

VENDOR = "supervisor"


def student_payload(attempt: Attempt, now: datetime | None = None,
                    token_link: bool = False) -> dict[str, Any]:
    """The fewest fields that do the job; the same username and identifier every time,
    so a reload resumes the same proctoring session.

    `url` (the framed test page) only with `token_link`: the proctoring server frames
    that URL, and a `url` in the room makes the SDK's `start()` cover our own page with
    it in an IFRAME (contract §1.6), so the SDK page's tokens never carry one."""
    config = current_app.config
    exam, user = attempt.exam, attempt.user
    payload: dict[str, Any] = {
        "exp": tokens.expiry(config["PROCTOR_TOKEN_TTL"], now),
        "iat": int((now or utcnow()).timestamp()),
        "username": user.public_id,
        "nickname": user.display_name,
        "role": "student",
        "identifier": attempt.identifier,
        "template": exam.proctoring_template or config["PROCTOR_TEMPLATE"],
        "subject": exam.title,
        "api": public_url("webhooks.supervisor_webhook"),
    }
    if token_link:
        payload["url"] = public_url("proctoring.framed_attempt", attempt_id=attempt.id)
    payload["referrer"] = public_url("exams.attempt_page", attempt_id=attempt.id)
    if exam.inactivity_timeout_minutes:
        payload["timeout"] = exam.inactivity_timeout_minutes
    # No start after it: once the attempt runs, its own deadline (the time limit plus the
    # student's allowances, never past the exam's close: exams/deadlines.py), so a token
    # issued after an allowance carries the moved one; before that, the exam's close.
    deadline = attempt.deadline_at or exam.closes_at
    if deadline:
        payload["deadline"] = isoformat_z(deadline)
    if exam.tags:
        payload["tags"] = list(exam.tags)
    if user.group_name:
        payload["group"] = user.group_name
    if user.lang:
        payload["lang"] = user.lang
    if exam.proctors:
        payload["invites"] = list(exam.proctors)
    tokens.validate_student_payload(payload)
    return payload


def student_token(attempt: Attempt, token_link: bool = False) -> str:
    """The signed student token: for the SDK page, or (`token_link`) for a token link."""
    payload = student_payload(attempt, token_link=token_link)
    return tokens.sign(payload, current_app.config["PROCTOR_JWT_SECRET"])


def auth_link(token: str, redirect_path: str | None = None) -> str:
    """The token link: `PROCTOR_URL/api/auth/<provider>?token=...` (no SDK on the page)."""
    config = current_app.config
    query = {"token": token}
    if redirect_path:
        query["redirect"] = redirect_path
    return f"{config['PROCTOR_URL']}/api/auth/{config['PROCTOR_PROVIDER']}?{urlencode(query)}"


def proctor_link(attempt: Attempt, proctor_username: str, ttl_seconds: int = 60) -> str:
    """A short-lived proctor login that opens this attempt's protocol at once."""
    payload = {"exp": tokens.expiry(ttl_seconds), "username": proctor_username,
               "role": "proctor", "identifier": attempt.identifier}
    return auth_link(tokens.sign(payload, current_app.config["PROCTOR_JWT_SECRET"]))


def protocol_link(attempt: Attempt) -> str:
    return f"{current_app.config['PROCTOR_URL']}/api/report/{attempt.identifier}"


def start_mode(attempt: Attempt, framed: bool, auto_start: bool) -> str:
    """How the page starts (static/js/exam.js switches on it, and on nothing else):

    - `ended`: terminated (the proctor or the server ended it): the end dialog at once;
    - `submitted`: closed, in the vendor's frame (no result redirect there): the score;
    - `framed`: inside the vendor's frame (token link, Constructor): the vendor runs the
      proctoring, the page asks the server to confirm the start;
    - `auto`: the SDK's data-attribute auto-start (`/auto`): the page waits for it;
    - `explicit`: the page runs `init()` and `start()` itself."""
    if attempt.state == TERMINATED:
        return "ended"
    if framed and not attempt.is_open:
        return "submitted"
    if framed:
        return "framed"
    return "auto" if auto_start else "explicit"


def page_config(attempt: Attempt, framed: bool, auto_start: bool = False) -> dict[str, Any]:
    """What exam.js needs; never a secret."""
    config = current_app.config
    ids = {"attempt_id": attempt.id}
    return {
        "attemptId": attempt.id,
        "startMode": start_mode(attempt, framed, auto_start),
        "closeReason": attempt.close_reason,
        "score": attempt.score,
        "maxScore": attempt.max_score,
        "proctorUrl": config["PROCTOR_URL"],
        "provider": config["PROCTOR_PROVIDER"],
        # Inside the vendor's frame (token link) the vendor runs proctoring: no SDK here.
        "sdkUrl": None if framed else config["PROCTOR_URL"] + "/sdk/supervisor.js",
        "debug": bool(config["PROCTOR_DEBUG_PANEL"] or request.args.get("debug") == "1"),
        "tokenLinkUrl": None if framed else url_for("proctoring.token_link", **ids),
        # The server refuses more (HTTP 429): the page sends fewer.
        "metricsPerMinute": page_events.limit("METRICS_PER_MINUTE"),
        # The metric codes in words, for the student's notices (the one list: metrics.py).
        "metricNames": dict(METRIC_NAMES),
        "metricAdvice": dict(METRIC_ADVICE),
        "urls": {
            "token": url_for("proctoring.token", **ids),
            "started": url_for("exams.started", **ids),
            "stopped": url_for("proctoring.stopped", **ids),
            "metrics": url_for("proctoring.metrics", **ids),
            "questions": url_for("exams.questions", **ids),
            "answer": url_for("exams.save_answer", question_id=0, **ids).replace(
                "/answers/0", "/answers/__QUESTION__"),
            "submit": url_for("exams.submit", **ids),
            "result": url_for("exams.result", **ids),
            "logout": url_for("auth.logout"),
        },
    }


def render_test_page(attempt: Attempt, framed: bool, auto_init: dict[str, str] | None = None):
    """The single-page test: with the SDK on it, inside the vendor's frame (`framed`), or
    with the SDK's data-attribute auto-start (`auto_init`: token and referrer)."""
    config = page_config(attempt, framed, auto_start=auto_init is not None)
    return render_template("exams/attempt.html", attempt=attempt, exam=attempt.exam,
                           framed=framed, page_config=config, auto_init=auto_init)

"""The console's JSON API: what the console page does, for scripts and tests.

Authenticated by HTTP Basic with the console credentials (or the console cookie plus
``X-CSRF-Token``). Endpoints are listed in ``docs/sandbox.md``.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from .. import outbox, timeutil
from ..constructor import faults
from ..constructor import sessions as constructor
from ..realtime import realtime_of
from ..store import Store
from ..supervisor import sessions as svc
from ..supervisor.api import public_base
from ..supervisor.metrics import CODES
from .auth import api_login_required

bp = Blueprint("console_api", __name__, url_prefix="/console/api")


def _store() -> Store:
    return current_app.extensions["sandbox_store"]


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def session_summary(row) -> dict[str, Any]:
    """One session as the console lists it."""
    store = _store()
    last = svc.last_sample(store, row["id"])
    sent = outbox.deliveries(store, subject=row["identifier"], kind="webhook", limit=1)
    return {
        **svc.session_object(row),
        "proctor": row["proctor"],
        "comment": row["comment"],
        "api": row["api"],
        "createdAt": timeutil.iso(row["created_at"]),
        "lastSeen": timeutil.iso(row["last_seen"]),
        "score": last["score"] if last else None,
        "metrics": json.loads(last["metrics"]) if last else None,
        "injected": json.loads(row["injected"]),
        "samples": store.one("SELECT COUNT(*) AS n FROM samples WHERE session_id = ?", (row["id"],))["n"],
        "lastDelivery": sent[0] if sent else None,
        "report": f"{row['report_base']}/api/report/{row['identifier']}",
    }


@bp.get("/sessions")
@api_login_required
def list_sessions(proctor: str):
    """All Supervisor sessions, newest first."""
    rows = _store().query("SELECT * FROM sessions ORDER BY created_at DESC")
    return jsonify([session_summary(r) for r in rows])


@bp.get("/sessions/<identifier>")
@api_login_required
def show_session(proctor: str, identifier: str):
    """One session with its samples and webhook deliveries."""
    try:
        row = svc.by_identifier(_store(), identifier)
    except svc.SessionError as exc:
        return jsonify({"error": str(exc)}), exc.status
    detail = session_summary(row)
    detail["timeline"] = [{"at": timeutil.iso(s["at"]), "score": s["score"], "metrics": json.loads(s["metrics"])}
                          for s in svc.samples(_store(), row["id"])]
    detail["deliveries"] = outbox.deliveries(_store(), subject=identifier, kind="webhook")
    return jsonify(detail)


@bp.post("/sessions/<identifier>/stop")
@api_login_required
def stop_session(proctor: str, identifier: str):
    """End a session as the proctor; the page gets ``room:stop`` with ``proctor`` set."""
    try:
        row = svc.by_identifier(_store(), identifier)
        row = svc.stop(_store(), row["id"], by="proctor", proctor=proctor)
    except svc.SessionError as exc:
        return jsonify({"error": str(exc)}), exc.status
    realtime_of(current_app).room_stopped(row)
    return jsonify(session_summary(row))


@bp.post("/sessions/<identifier>/conclusion")
@api_login_required
def set_conclusion(proctor: str, identifier: str):
    """``{"status": "accepted"|"rejected", "comment": "..."}`` on an ended session."""
    body = _body()
    try:
        row = svc.by_identifier(_store(), identifier)
        row = svc.conclude(_store(), row["id"], str(body.get("status", "")),
                           body.get("comment"), proctor)
    except svc.SessionError as exc:
        return jsonify({"error": str(exc)}), exc.status
    return jsonify(session_summary(row))


@bp.post("/sessions/<identifier>/violation")
@api_login_required
def inject_violation(proctor: str, identifier: str):
    """``{"metric": "c2", "value": 80}`` (value 0 removes it) or ``{"clear": true}``; the
    page gets ``sandbox:inject``."""
    body = _body()
    try:
        row = svc.by_identifier(_store(), identifier)
        if body.get("clear"):
            row = svc.inject(_store(), row["id"], None)
        else:
            value = body.get("value", 80)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return jsonify({"error": "value must be a number 0..100"}), 400
            metric = body.get("metric")
            if not isinstance(metric, str):
                return jsonify({"error": "metric must be a metric code such as c2"}), 400
            row = svc.inject(_store(), row["id"], metric, int(value))
    except svc.SessionError as exc:
        return jsonify({"error": str(exc)}), exc.status
    realtime_of(current_app).injected_changed(row)
    return jsonify(session_summary(row))


@bp.get("/deliveries")
@api_login_required
def list_deliveries(proctor: str):
    """Webhook and review deliveries with every try; filters ``?identifier=``/``?subject=``, ``?kind=``."""
    subject = request.args.get("identifier") or request.args.get("subject")
    return jsonify(outbox.deliveries(_store(), subject=subject, kind=request.args.get("kind")))


@bp.get("/faults")
@api_login_required
def get_faults(proctor: str):
    """The pending finish-call faults."""
    return jsonify({"finish": faults.current(current_app)})


@bp.post("/faults")
@api_login_required
def set_faults(proctor: str):
    """``{"finish": "503:2"}`` replaces the pending faults (``""`` clears them)."""
    try:
        pending = faults.replace(current_app, str(_body().get("finish", "")))
    except faults.FaultSpecError as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify({"finish": pending})


@bp.get("/constructor/calls")
@api_login_required
def constructor_calls(proctor: str):
    """Every finish/status call received, oldest first."""
    return jsonify(constructor.calls(_store()))


@bp.get("/constructor/sessions")
@api_login_required
def constructor_sessions(proctor: str):
    """All Constructor sessions, newest first."""
    return jsonify(constructor.listing(_store()))


@bp.post("/constructor/sessions")
@api_login_required
def schedule_constructor_session(proctor: str):
    """``{"sessionId": "...", "accountId": "..."}``: a scheduled session not yet started."""
    body = _body()
    if not body.get("sessionId"):
        return jsonify({"error": "sessionId required"}), 400
    try:
        row = constructor.schedule(_store(), str(body["sessionId"]), str(body.get("accountId", "")),
                                   public_base())
    except constructor.ConstructorError as exc:
        return jsonify({"error": str(exc)}), exc.status
    return jsonify(constructor.status(row)), 201


@bp.post("/constructor/sessions/<session_id>/conclusion")
@api_login_required
def constructor_conclusion(proctor: str, session_id: str):
    """``{"conclusion": "accepted"|"rejected", "comment": "..."}``; the result is sent again."""
    body = _body()
    try:
        row = constructor.conclude(_store(), session_id, str(body.get("conclusion", "")),
                                   body.get("comment"), current_app.config["SANDBOX_REVIEW_URL"])
    except constructor.ConstructorError as exc:
        return jsonify({"error": str(exc)}), exc.status
    return jsonify(constructor.review_payload(row))


@bp.post("/constructor/sessions/<session_id>/warning")
@api_login_required
def constructor_warning(proctor: str, session_id: str):
    """``{"type": "face_not_found"}``: an AI warning on a started session."""
    try:
        row = constructor.add_warning(_store(), session_id, str(_body().get("type", "")))
    except constructor.ConstructorError as exc:
        return jsonify({"error": str(exc)}), exc.status
    return jsonify(constructor.review_payload(row))


@bp.get("/metrics")
@api_login_required
def metric_codes(proctor: str):
    """The metric codes the sandbox knows, for scripts that inject violations."""
    return jsonify(list(CODES))

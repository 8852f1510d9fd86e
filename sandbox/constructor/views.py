"""Constructor Proctor endpoints: the browser start form and the LMS's server calls."""
from __future__ import annotations

import time

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from ..store import Store
from ..supervisor.api import public_base
from . import faults
from . import sessions as svc
from .tokens import ConstructorTokenError, server_token, verify_start

bp = Blueprint("constructor", __name__)
API = "/api/v2/integration/simple/<integration>/sessions/<session_id>"


def _store() -> Store:
    return current_app.extensions["sandbox_store"]


def _check_integration(integration: str, as_json: bool) -> Response | None:
    if integration == current_app.config["SANDBOX_CONSTRUCTOR_INTEGRATION"]:
        return None
    if as_json:
        return jsonify({"error": f"unknown integration {integration!r}"}), 404
    abort(404, description=f"unknown integration {integration!r}")
    return None


@bp.post("/integration/simple/<integration>/start/")
def start(integration: str):
    """The student's browser posts the start token; show the proctor frame around sessionUrl."""
    _check_integration(integration, as_json=False)
    try:
        payload = verify_start(request.form.get("token", ""),
                               current_app.config["SANDBOX_CONSTRUCTOR_SECRET"])
    except ConstructorTokenError as exc:
        return render_template("error.html", title="Constructor Proctor (sandbox)",
                               message=f"Cannot start: {exc}"), exc.status
    row = svc.start(_store(), payload, public_base())
    return render_template("constructor_frame.html", row=row, payload=payload,
                           integration=integration,
                           start_finish_url=payload.get("sessionFinishUrl"))


@bp.get("/integration/simple/<integration>/sessions/<session_id>/state/")
def frame_state(integration: str, session_id: str):
    """The frame page's poll: the session's state and finish URL (keyed by the page's view key)."""
    try:
        row = svc.get(_store(), session_id)
    except svc.ConstructorError as exc:
        return jsonify({"error": str(exc)}), exc.status
    if request.args.get("key") != row["view_key"]:
        return jsonify({"error": "wrong view key"}), 403
    return jsonify({"status": row["status"], "finishUrl": row["finish_url"]})


@bp.get("/integration/simple/archive/<session_id>/")
def archive(session_id: str):
    """The ``archive`` link of a result: the sandbox records no video, so a summary."""
    try:
        row = svc.get(_store(), session_id)
    except svc.ConstructorError:
        abort(404)
    return render_template("constructor_archive.html", session=svc.review_payload(row))


@bp.post(API + "/finish/")
def finish(integration: str, session_id: str):
    """The LMS ends a session: finished / not_changed / canceled, or an injected fault."""
    wrong = _check_integration(integration, as_json=True)
    if wrong:
        return wrong
    store = _store()
    fault = faults.take(current_app)
    if fault and fault["kind"] == "drop" and faults.drop_connection():
        svc.record_call(store, "finish", session_id, False, "fault:drop")
        return Response(status=500)  # never reaches the client: the socket is closed
    if fault and fault["kind"] not in ("drop", "delay"):
        svc.record_call(store, "finish", session_id, False, f"fault:{fault['kind']}")
        return jsonify({"error": "Service Unavailable (injected fault)"}), int(fault["kind"])
    if fault and fault["kind"] == "delay":
        time.sleep(fault["seconds"])
    try:
        server_token(request.headers.get("Authorization", ""),
                     current_app.config["SANDBOX_CONSTRUCTOR_SECRET"])
    except ConstructorTokenError as exc:
        svc.record_call(store, "finish", session_id, False, f"401: {exc}")
        return jsonify({"error": str(exc)}), 401
    body = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(body, dict):
        svc.record_call(store, "finish", session_id, True, "400: body is not a JSON object")
        return jsonify({"error": "body must be a JSON object or empty"}), 400
    finish_url = body.get("sessionFinishUrl") or None
    try:
        outcome = svc.finish(store, session_id, finish_url, current_app.config["SANDBOX_REVIEW_URL"])
    except svc.ConstructorError as exc:
        svc.record_call(store, "finish", session_id, True, f"{exc.status}: {exc}")
        return jsonify({"error": str(exc)}), exc.status
    prefix = f"delayed {fault['seconds']}s, " if fault else ""
    svc.record_call(store, "finish", session_id, True, prefix + outcome)
    return jsonify({"message": outcome})


@bp.get(API + "/status/")
def status(integration: str, session_id: str):
    """The LMS asks for a session's state."""
    wrong = _check_integration(integration, as_json=True)
    if wrong:
        return wrong
    store = _store()
    try:
        server_token(request.headers.get("Authorization", ""),
                     current_app.config["SANDBOX_CONSTRUCTOR_SECRET"])
    except ConstructorTokenError as exc:
        svc.record_call(store, "status", session_id, False, f"401: {exc}")
        return jsonify({"error": str(exc)}), 401
    try:
        row = svc.get(store, session_id)
    except svc.ConstructorError as exc:
        svc.record_call(store, "status", session_id, True, f"{exc.status}: {exc}")
        return jsonify({"error": str(exc)}), exc.status
    answer = svc.status(row)
    svc.record_call(store, "status", session_id, True, answer["status"])
    return jsonify(answer)

"""The JSON API the stand-in SDK talks to, cross-origin, with bearer tokens only.

``POST /api/auth/<provider>`` exchanges a signed token for an opaque access token;
the session calls below require ``Authorization: Bearer <access>``. No cookies are
involved, so the portal's page (another origin) can call them with CORS.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..store import Store
from . import sessions as svc
from .tokens import TokenRejected, verify

bp = Blueprint("supervisor_api", __name__)


def _store() -> Store:
    return current_app.extensions["sandbox_store"]


def _error(message: str, status: int, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


def public_base() -> str:
    """The sandbox's own base URL for links: SANDBOX_PUBLIC_URL, else this request's."""
    return (current_app.config["SANDBOX_PUBLIC_URL"] or request.host_url).rstrip("/")


def bearer(prefix: str = "Bearer") -> str:
    """The credential of an ``Authorization: <prefix> <credential>`` header, or ''."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    return credential.strip() if scheme.lower() == prefix.lower() else ""


@bp.after_app_request
def cors(response: Response) -> Response:
    """Let any origin's page call the SDK API and load the script (bearer auth, no cookies)."""
    if request.path.startswith(("/api/", "/sdk/")):
        origin = request.headers.get("Origin")
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Max-Age"] = "600"
            response.vary.add("Origin")
    return response


@bp.post("/api/auth/<provider>")
def auth(provider: str):
    """Verify the bearer token, create or resume its session, return an access token."""
    settings = current_app.config
    if provider != settings["SANDBOX_PROVIDER"]:
        return _error(f"unknown auth provider {provider!r}", 404)
    try:
        claims = verify(bearer(), settings["SANDBOX_JWT_SECRET"])
    except TokenRejected as exc:
        return _error(str(exc), 401)
    if claims["role"] != "student":
        return _error("a proctor token cannot open a proctoring session; use the console link", 403)
    try:
        row, access = svc.open_session(_store(), claims, public_base())
    except svc.SessionError as exc:
        return _error(str(exc), exc.status)
    return jsonify({
        "token": access,
        "session": svc.session_object(row),
        "metricsPeriod": settings["SANDBOX_METRICS_PERIOD"],
        "prechecks": settings["SANDBOX_PRECHECKS"],
        "referrer": row["referrer"],
    })


def _session_for_request(session_id: str, allow_superseded: bool = False):
    """Return (row, current) for the bearer access token, or an error response."""
    try:
        row, current = svc.by_access(_store(), bearer())
    except svc.SessionError as exc:
        return None, _error(str(exc), exc.status)
    if row["id"] != session_id:
        return None, _error("access token belongs to another session", 403)
    if not current and not allow_superseded:
        return None, _error("This page was opened elsewhere", 409, superseded=True)
    return (row, current), None


@bp.get("/api/sessions/<session_id>")
def poll(session_id: str):
    """The session's state and whether this tab was superseded (polled every second)."""
    found, error = _session_for_request(session_id, allow_superseded=True)
    if error:
        return error
    row, current = found
    return jsonify({"session": svc.session_object(row), "superseded": not current})


@bp.post("/api/sessions/<session_id>/start")
def start(session_id: str):
    """Start the session, or refuse as a real SDK would (named equipment error, deadline)."""
    found, error = _session_for_request(session_id)
    if error:
        return error
    try:
        row = svc.start(_store(), session_id, current_app.config["SANDBOX_START_ERROR"])
    except svc.SessionError as exc:
        extra = {"name": exc.name} if exc.name else {}
        return _error(str(exc), exc.status, **extra)
    return jsonify({"session": svc.session_object(row)})


@bp.post("/api/sessions/<session_id>/metrics")
def metrics(session_id: str):
    """Record one heartbeat and answer the ``metrics`` event plus the session state."""
    found, error = _session_for_request(session_id)
    if error:
        return error
    body = request.get_json(silent=True) or {}
    posted = body.get("metrics") if isinstance(body.get("metrics"), dict) else {}
    result = svc.record_metrics(_store(), session_id, posted)
    answer = dict(result["event"] or {})
    answer["session"] = svc.session_object(result["session"])
    return jsonify(answer)


@bp.post("/api/sessions/<session_id>/violation")
def violation(session_id: str):
    """The SDK widget's "inject violation" control: ``{"metric": "c2", "value": 80}`` or ``{"clear": true}``."""
    found, error = _session_for_request(session_id)
    if error:
        return error
    body = request.get_json(silent=True) or {}
    try:
        if body.get("clear"):
            row = svc.inject(_store(), session_id, None)
        else:
            row = svc.inject(_store(), session_id, body.get("metric"), _int(body.get("value", 0)))
    except svc.SessionError as exc:
        return _error(str(exc), exc.status)
    return jsonify({"session": svc.session_object(row)})


@bp.post("/api/sessions/<session_id>/stop")
def stop(session_id: str):
    """The page's own ``stop()``: end the session (ended already: its state, 200)."""
    found, error = _session_for_request(session_id)
    if error:
        return error
    try:
        row = svc.stop(_store(), session_id, by="student")
    except svc.SessionError as exc:
        if exc.status != 409:
            return _error(str(exc), exc.status)
        row = svc.get(_store(), session_id)  # stop() twice is harmless, as in the real SDK
    return jsonify({"session": svc.session_object(row)})


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

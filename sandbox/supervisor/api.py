"""The real SDK's REST calls (contract 1.6), part one: sign-in, the user, the SDK config.

``POST /api/auth/<provider>`` exchanges the portal's JWT (``Authorization: Bearer``)
for a session token; every other call takes that session token as its bearer. No
cookies are involved, so the portal's page (another origin) calls them with CORS.
Only HTTP 200 is success for the SDK; errors are ``{"error": "..."}`` with a 4xx.
The room and chat calls are in ``rooms.py``.
"""
from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..realtime import realtime_of
from ..store import Store
from . import objects
from . import sessions as svc
from .tokens import TokenRejected, verify

bp = Blueprint("supervisor_api", __name__)
log = logging.getLogger("sandbox.auth")


def store() -> Store:
    """The app's store."""
    return current_app.extensions["sandbox_store"]


def error(message: str, status: int) -> tuple[Response, int]:
    """The JSON error answer of every SDK call."""
    return jsonify({"error": message}), status


def public_base() -> str:
    """The sandbox's own base URL for links: SANDBOX_PUBLIC_URL, else this request's."""
    return (current_app.config["SANDBOX_PUBLIC_URL"] or request.host_url).rstrip("/")


def bearer(prefix: str = "Bearer") -> str:
    """The credential of an ``Authorization: <prefix> <credential>`` header, or ''."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    return credential.strip() if scheme.lower() == prefix.lower() else ""


def session_of_request() -> tuple[sqlite3.Row | None, tuple[Response, int] | None]:
    """(the session of the bearer session token, None), or (None, a 401 answer)."""
    try:
        return svc.by_access(store(), bearer()), None
    except svc.SessionError as exc:
        log.warning("%s %s refused: %s", request.method, request.path, exc)
        return None, error(str(exc), exc.status)


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
    """Verify the portal's JWT, create or resume its session, answer ``{token}``."""
    settings = current_app.config
    if provider != settings["SANDBOX_PROVIDER"]:
        return error(f"unknown auth provider {provider!r}", 404)
    try:
        claims = verify(bearer(), settings["SANDBOX_JWT_SECRET"])
    except TokenRejected as exc:
        log.warning("token refused at /api/auth/%s: %s", provider, exc)
        return error(str(exc), 401)
    if claims["role"] != "student":
        return error("a proctor token cannot open a proctoring session; use the console link", 403)
    try:
        _, token = svc.open_session(store(), claims, public_base())
    except svc.SessionError as exc:
        return error(str(exc), exc.status)
    return jsonify({"token": token})


@bp.get("/api/auth")
def whoami():
    """``{token, ...user}`` for the bearer session token."""
    row, refused = session_of_request()
    if refused:
        return refused
    return jsonify({"token": bearer(), **objects.user_object(row)})


@bp.get("/api/user/me")
def user_me():
    """The user: ``{id, nickname, lang, referer, group, face, role}``."""
    row, refused = session_of_request()
    if refused:
        return refused
    return jsonify(objects.user_object(row))


@bp.post("/api/auth/logout")
def logout():
    """End the session token (not the session); its sockets are disconnected."""
    row, refused = session_of_request()
    if refused:
        return refused
    token = bearer()
    svc.logout(store(), token)
    realtime_of(current_app).logged_out(token)
    return jsonify({})


@bp.get("/api/config/sdk")
def sdk_config():
    """The SDK's settings: tracker period, ICE servers, capture; plus the sandbox's own."""
    _, refused = session_of_request()
    if refused:
        return refused
    return jsonify(objects.sdk_config(current_app.config))


def json_body() -> Any:
    """The request's JSON body, or None when it is missing or not JSON."""
    return request.get_json(silent=True)

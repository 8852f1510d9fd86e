"""The real SDK's REST calls (contract 1.6), part two: the room and its chat.

``?id=`` and ``<room>`` are the room id (the token's identifier) and must be the
bearer's own room (403 otherwise). Every state change is told to the room's sockets
(``room:start``, ``room:stop``, ``sandbox:inject``) after it is stored.
"""
from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..realtime import realtime_of
from . import objects
from . import sessions as svc
from .api import error, json_body, session_of_request, store

bp = Blueprint("supervisor_rooms", __name__)
log = logging.getLogger("sandbox.rooms")

CHAT_PAGE_MAX = 100


def _own_room(room_id: str | None) -> tuple[sqlite3.Row | None, tuple[Response, int] | None]:
    row, refused = session_of_request()
    if refused:
        return None, refused
    if not room_id:
        return None, error("the room id is missing (?id=<room>)", 400)
    if room_id != row["identifier"]:
        return None, error("this session token belongs to another room", 403)
    return row, None


def _room(row: sqlite3.Row) -> dict[str, Any]:
    return objects.room_object(row, current_app.config["SANDBOX_PRECHECKS"])


@bp.get("/api/room/fetch")
def fetch():
    """The bearer's room."""
    row, refused = session_of_request()
    if refused:
        return refused
    return jsonify(_room(row))


@bp.post("/api/room/start")
def start():
    """Start (or resume) the room; answers it and emits ``room:start`` with the same room."""
    row, refused = _own_room(request.args.get("id"))
    if refused:
        return refused
    try:
        row = svc.start(store(), row["id"])
    except svc.SessionError as exc:
        return error(str(exc), exc.status)
    realtime_of(current_app).room_started(row)
    return jsonify(_room(row))


@bp.post("/api/room/stop")
def stop():
    """The page's own ``stop()``: end the room (ended already: the room, 200); ``room:stop``."""
    row, refused = _own_room(request.args.get("id"))
    if refused:
        return refused
    try:
        row = svc.stop(store(), row["id"], by="student")
    except svc.SessionError as exc:
        if exc.status != 409:
            return error(str(exc), exc.status)
        return jsonify(_room(svc.get(store(), row["id"])))  # stop() twice is harmless
    realtime_of(current_app).room_stopped(row)
    return jsonify(_room(row))


@bp.post("/api/room/next")
def next_step():
    """The real SDK's wizard reports each finished preliminary step (``{error}``: null, or
    why the step failed); answers ``{error}``. Logged, so a failing check is visible."""
    row, refused = _own_room(request.args.get("id"))
    if refused:
        return refused
    body = json_body()
    failure = body.get("error") if isinstance(body, dict) else None
    if failure is not None and not isinstance(failure, str):
        return error('the body must be {"error": null} or {"error": "why the step failed"}', 400)
    if failure:
        log.warning("preliminary step of %s failed: %s", row["identifier"], failure[:200])
    else:
        log.info("preliminary step of %s done", row["identifier"])
    return jsonify({"error": failure})


@bp.get("/api/chat/<room_id>")
def chat_history(room_id: str):
    """The room's chat, ``?filter[type]=message&limit=20&skip=0``: an array, oldest first."""
    row, refused = _own_room(room_id)
    if refused:
        return refused
    kind = request.args.get("filter[type]") or None
    if kind is not None and kind not in svc.CHAT_TYPES:
        return error(f"filter[type] must be one of {', '.join(svc.CHAT_TYPES)}", 400)
    limit = _count(request.args.get("limit"), 20)
    skip = _count(request.args.get("skip"), 0)
    if limit is None or skip is None or not 1 <= limit <= CHAT_PAGE_MAX:
        return error(f"limit must be 1..{CHAT_PAGE_MAX} and skip a whole number >= 0", 400)
    return jsonify(svc.chat_history(store(), row["id"], kind, limit, skip))


@bp.post("/api/chat/<room_id>")
def chat_post(room_id: str):
    """A chat message; ``{type: 'event', metadata: {metrics, ...}}`` is also a metrics sample."""
    row, refused = _own_room(room_id)
    if refused:
        return refused
    try:
        message, _ = svc.post_chat(store(), row["id"], row["username"], json_body())
    except svc.SessionError as exc:
        return error(str(exc), exc.status)
    return jsonify(message)


@bp.post("/api/sandbox/violation")
def violation():
    """Sandbox-only: ``{metric, value}`` or ``{clear: true}`` -> ``{injected}``; ``sandbox:inject``."""
    row, refused = _own_room(request.args.get("id"))
    if refused:
        return refused
    body = json_body()
    if not isinstance(body, dict):
        return error('the body must be {"metric": "c2", "value": 80} or {"clear": true}', 400)
    clear, metric, value = bool(body.get("clear")), body.get("metric"), body.get("value", 0)
    if not clear and not isinstance(metric, str):
        return error("metric must be a metric code such as c2 (or send {\"clear\": true})", 400)
    if not clear and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return error("value must be a number 0..100", 400)
    try:
        row = svc.inject(store(), row["id"], None if clear else metric, 0 if clear else int(value))
    except svc.SessionError as exc:
        return error(str(exc), exc.status)
    realtime_of(current_app).injected_changed(row)
    return jsonify({"injected": _room(row)["injected"]})


def _count(raw: str | None, default: int) -> int | None:
    """A whole number >= 0 from a query parameter (``default`` when absent), else None."""
    if raw is None or raw == "":
        return default
    return int(raw) if raw.isdigit() else None

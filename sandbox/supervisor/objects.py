"""The objects of the real SDK's wire protocol (contract 1.6): room, user, SDK config.

One place for their shapes, so the REST answers and the socket events agree. The
sandbox-only fields (``injected``, ``sandbox``) are marked; the vendor's own script
ignores them.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Mapping

from .. import timeutil
from . import metrics as metric_rules

# SANDBOX_PRECHECKS step -> the room add-on that makes the SDK's init() show it.
# The proctoring rules of the sandbox's template (the rules page the real SDK frames).
RULES = ("Stay alone in the room and keep your face in the camera.",
         "Do not talk, use a phone, or open other windows.",
         "The session is recorded and may be reviewed by a proctor.")

PRECHECK_ADDONS = {"rules": "rules", "equipment": "check"}
# A plain webcam session: the metrics tracker and the webcam preview with its warnings.
SESSION_ADDONS = ("track", "preview")
# A token link's room (one with a `url`): the real SDK shows the bar with Finish above the
# framed test only with this add-on, and the student has no other way to end the session.
LINK_ADDONS = ("finish",)


def room_object(row: sqlite3.Row, prechecks: list[str]) -> dict[str, Any]:
    """The room (session) as ``/api/room/*`` answer it and ``room:start`` carries it.

    ``id`` is the token's identifier; ``updatedAt`` changes with every start, which
    is how an older tab learns that a newer one started (contract 1.6).
    """
    claims = json.loads(row["payload"])
    return {
        "id": row["identifier"],
        "addons": ([PRECHECK_ADDONS[step] for step in prechecks] + list(SESSION_ADDONS)
                   + (list(LINK_ADDONS) if row["url"] else [])),
        "metrics": list(metric_rules.CODES),
        "threshold": metric_rules.THRESHOLD,
        "startedAt": timeutil.iso(row["started_at"]),
        "updatedAt": timeutil.iso(row["updated_at"] or row["created_at"]),
        "stoppedAt": timeutil.iso(row["stopped_at"]),
        "status": row["status"],
        "url": row["url"],
        "subject": row["subject"],
        "deadline": timeutil.iso(row["deadline"]),
        "lifetime": None,
        "tags": claims.get("tags") or [],
        # The rules step of the real SDK frames this page; it answers "DONE" by postMessage.
        "rules": (row["report_base"].rstrip("/") + "/rules") if "rules" in prechecks else None,
        "injected": json.loads(row["injected"]),  # sandbox-only: the simulated violations
    }


def stop_payload(row: sqlite3.Row, prechecks: list[str]) -> dict[str, Any]:
    """``room:stop``: the room, with ``proctor`` only when a proctor ended it."""
    payload = room_object(row, prechecks)
    if row["stopped_by"] == "proctor" and row["proctor"]:
        payload["proctor"] = row["proctor"]
    return payload


def user_object(row: sqlite3.Row) -> dict[str, Any]:
    """The user of ``/api/user/me``; ``referer`` is the token's ``referrer``."""
    claims = json.loads(row["payload"])
    return {
        "id": row["username"],
        "nickname": row["nickname"] or row["username"],
        "lang": claims.get("lang"),
        "referer": row["referrer"],
        "group": claims.get("group"),
        "face": None,
        "role": "student",
        "labels": claims.get("labels") or [],
    }


def sdk_config(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``/api/config/sdk``: tracker periods, ICE servers (none: loopback needs no STUN),
    capture settings; ``sandbox`` and ``tracker.eventPeriod`` are sandbox-only."""
    return {
        "tracker": {"period": settings["SANDBOX_METRICS_PERIOD"],
                    "eventPeriod": settings["SANDBOX_EVENT_PERIOD"]},
        "p2p": {"iceServers": []},
        "webcam": {"width": 640, "height": 480, "frameRate": 10},
        "screen": {},
        "css": None,
        "inject": None,
        "iframe": {"allow": "microphone; camera; autoplay"},
        "sandbox": {"startError": settings["SANDBOX_START_ERROR"] or None,
                    "violations": [dict(v) for v in metric_rules.VIOLATIONS]},
    }

"""Constructor sessions: created (scheduled) -> started (start form posted) -> finished.

A finish call on a started session finishes it and queues the result for the LMS's
``review_url`` ~1 s later; a conclusion set in the console queues it again. A finish
call on a session never started cancels it.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
from typing import Any, Mapping

from .. import outbox, timeutil
from ..store import Store

REVIEW_DELAY = 1.0
THRESHOLD = {"attention": 70, "rejected": 40}
WARNING_TITLES = {
    "face_not_found": "Face not found",
    "extra_face": "Another person in the frame",
    "noise": "Talking or noise",
    "tab_switch": "Switched to another window",
}
STATUS_NAMES = {"created": "ready_to_start", "started": "started",
                "finished": "finished", "canceled": "canceled"}


class ConstructorError(Exception):
    """A request this session's state does not allow; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def start(store: Store, payload: Mapping[str, Any], base: str) -> sqlite3.Row:
    """Create (or resume) the session of a verified start token and mark it started."""
    now = timeutil.now()
    with store.tx() as db:
        db.execute(
            "INSERT INTO c_sessions (session_id, account_id, payload, view_key, status, created_at,"
            " started_at, base) VALUES (?, ?, ?, ?, 'started', ?, ?, ?)"
            " ON CONFLICT(session_id) DO UPDATE SET payload = excluded.payload",
            (payload["sessionId"], payload["accountId"], json.dumps(dict(payload)),
             secrets.token_urlsafe(16), now, now, base))
        db.execute("UPDATE c_sessions SET status = 'started', started_at = ?"
                   " WHERE session_id = ? AND status = 'created'", (now, payload["sessionId"]))
    return get(store, payload["sessionId"])


def schedule(store: Store, session_id: str, account_id: str, base: str) -> sqlite3.Row:
    """Create a scheduled, not yet started session (console/test API); 409 if it exists."""
    with store.tx() as db:
        if db.execute("SELECT 1 FROM c_sessions WHERE session_id = ?", (session_id,)).fetchone():
            raise ConstructorError("session exists", 409)
        db.execute("INSERT INTO c_sessions (session_id, account_id, payload, view_key, status,"
                   " created_at, base) VALUES (?, ?, '{}', ?, 'created', ?, ?)",
                   (session_id, account_id, secrets.token_urlsafe(16), timeutil.now(), base))
    return get(store, session_id)


def get(store: Store, session_id: str) -> sqlite3.Row:
    """The session row; raises ConstructorError (404) if unknown."""
    row = store.one("SELECT * FROM c_sessions WHERE session_id = ?", (session_id,))
    if row is None:
        raise ConstructorError("session not found", 404)
    return row


def finish(store: Store, session_id: str, finish_url: str | None, review_url: str) -> str:
    """Apply a finish call; return ``finished``, ``not_changed`` or ``canceled``.

    Raises ConstructorError (404) for an unknown session.
    """
    now = timeutil.now()
    with store.tx() as db:
        row = db.execute("SELECT * FROM c_sessions WHERE session_id = ?", (session_id,)).fetchone()
        if row is None:
            raise ConstructorError("session not found", 404)
        if row["status"] == "created":
            db.execute("UPDATE c_sessions SET status = 'canceled', finished_at = ? WHERE session_id = ?",
                       (now, session_id))
            return "canceled"
        if row["status"] != "started":
            return "not_changed"
        db.execute("UPDATE c_sessions SET status = 'finished', finished_at = ?,"
                   " finish_url = COALESCE(?, finish_url) WHERE session_id = ?",
                   (now, finish_url, session_id))
        fresh = db.execute("SELECT * FROM c_sessions WHERE session_id = ?", (session_id,)).fetchone()
        outbox.enqueue(db, "review", session_id, review_url, review_payload(fresh), delay=REVIEW_DELAY)
    return "finished"


def conclude(store: Store, session_id: str, conclusion: str, comment: str | None,
             review_url: str) -> sqlite3.Row:
    """Set the proctor's conclusion on a finished session and queue the result again.

    Raises ConstructorError: 400 for a conclusion other than accepted/rejected, 409
    while the session is not finished, 404 if unknown.
    """
    if conclusion not in ("accepted", "rejected"):
        raise ConstructorError("conclusion must be accepted or rejected", 400)
    with store.tx() as db:
        row = db.execute("SELECT * FROM c_sessions WHERE session_id = ?", (session_id,)).fetchone()
        if row is None:
            raise ConstructorError("session not found", 404)
        if row["status"] != "finished":
            raise ConstructorError(f"a {row['status']} session cannot be concluded", 409)
        db.execute("UPDATE c_sessions SET conclusion = ?, comment = ? WHERE session_id = ?",
                   (conclusion, comment, session_id))
        fresh = db.execute("SELECT * FROM c_sessions WHERE session_id = ?", (session_id,)).fetchone()
        outbox.enqueue(db, "review", session_id, review_url, review_payload(fresh))
    return get(store, session_id)


def add_warning(store: Store, session_id: str, kind: str) -> sqlite3.Row:
    """Record an AI warning on a started session (it lowers the score by 15)."""
    if kind not in WARNING_TITLES:
        raise ConstructorError(f"warning type must be one of {', '.join(WARNING_TITLES)}", 400)
    row = get(store, session_id)
    if row["status"] != "started":
        raise ConstructorError(f"a {row['status']} session takes no warnings", 409)
    now = timeutil.now()
    warnings = json.loads(row["warnings"]) + [
        {"type": kind, "start": timeutil.iso(now - 5), "end": timeutil.iso(now), "cyber": True}]
    store.execute("UPDATE c_sessions SET warnings = ? WHERE session_id = ?",
                  (json.dumps(warnings), session_id))
    return get(store, session_id)


def review_payload(row: sqlite3.Row) -> dict[str, Any]:
    """The result for the LMS's review_url (contract section 2, "Result")."""
    warnings = json.loads(row["warnings"])
    return {
        "accountId": row["account_id"],
        "sessionId": row["session_id"],
        "archive": f"{row['base'].rstrip('/')}/integration/simple/archive/{row['session_id']}/",
        "conclusion": row["conclusion"],
        "comment": row["comment"],
        "score": max(0, 100 - 15 * len(warnings)),
        "threshold": dict(THRESHOLD),
        "sessionStart": timeutil.iso(row["started_at"]),
        "sessionEnd": timeutil.iso(row["finished_at"]),
        "warnings": warnings,
        "warningTitles": {kind: {"en": title} for kind, title in WARNING_TITLES.items()},
    }


def status(row: sqlite3.Row) -> dict[str, Any]:
    """The status call's answer."""
    return {
        "accountId": row["account_id"],
        "sessionId": row["session_id"],
        "status": STATUS_NAMES[row["status"]],
        "sessionStart": timeutil.iso(row["started_at"]),
        "sessionEnd": timeutil.iso(row["finished_at"]),
    }


def record_call(store: Store, kind: str, session_id: str, auth_ok: bool, outcome: str) -> None:
    """Log one server call for the console and tests."""
    store.execute("INSERT INTO c_calls (at, kind, session_id, auth_ok, outcome) VALUES (?, ?, ?, ?, ?)",
                  (timeutil.now(), kind, session_id, int(auth_ok), outcome))


def calls(store: Store) -> list[dict[str, Any]]:
    """Every recorded server call, oldest first."""
    return [{"id": r["id"], "at": timeutil.iso(r["at"]), "kind": r["kind"], "sessionId": r["session_id"],
             "authOk": bool(r["auth_ok"]), "outcome": r["outcome"]}
            for r in store.query("SELECT * FROM c_calls ORDER BY id")]


def listing(store: Store) -> list[dict[str, Any]]:
    """All sessions, newest first, for the console."""
    out = []
    for row in store.query("SELECT * FROM c_sessions ORDER BY created_at DESC"):
        payload = json.loads(row["payload"])
        out.append({**status(row), "state": row["status"], "conclusion": row["conclusion"],
                    "comment": row["comment"], "examName": payload.get("examName"),
                    "userId": payload.get("userId"), "finishUrl": row["finish_url"],
                    "warnings": json.loads(row["warnings"])})
    return out

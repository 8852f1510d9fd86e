"""Supervisor sessions: created -> started -> stopped, then accepted/rejected.

A session is keyed by its ``identifier`` and belongs to one ``username``; a new token
with the same pair resumes it. Ends (student, proctor, timeout, deadline) and
conclusions enqueue a results webhook in the same transaction as the state change.
Each state change is a conditional UPDATE so two threads never both apply it.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
from typing import Any, Mapping

from .. import timeutil
from ..store import Store
from . import metrics as metric_rules
from .webhooks import enqueue_webhook

ENDED = ("stopped", "skipped", "accepted", "rejected")


class SessionError(Exception):
    """A request the session's state does not allow; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int = 409, name: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.name = name


def open_session(store: Store, claims: Mapping[str, Any], report_base: str) -> tuple[sqlite3.Row, str]:
    """Create or resume the session of a verified student token; return it and a new access token.

    The new access token becomes the session's current one, so an older tab learns
    that it was superseded. Raises SessionError (409) if another username owns the
    identifier.
    """
    now = timeutil.now()
    access = secrets.token_urlsafe(24)
    fields = {
        "nickname": claims.get("nickname"), "subject": claims.get("subject"),
        "template": claims.get("template"), "api": claims.get("api"),
        "referrer": claims.get("referrer"), "url": claims.get("url"),
        "timeout": claims.get("timeout"), "deadline": claims.get("deadline"),
        "payload": json.dumps(dict(claims)),
    }
    with store.tx() as db:
        row = db.execute("SELECT * FROM sessions WHERE identifier = ?",
                         (claims["identifier"],)).fetchone()
        if row is not None and row["username"] != claims["username"]:
            raise SessionError("identifier belongs to a session of another username", 409)
        if row is None:
            session_id = secrets.token_hex(12)
            db.execute(
                "INSERT INTO sessions (id, identifier, username, nickname, subject, template, api,"
                " referrer, url, timeout, deadline, payload, status, created_at, report_base)"
                " VALUES (:id, :identifier, :username, :nickname, :subject, :template, :api,"
                " :referrer, :url, :timeout, :deadline, :payload, 'created', :now, :base)",
                {**fields, "id": session_id, "identifier": claims["identifier"],
                 "username": claims["username"], "now": now, "base": report_base},
            )
        else:
            session_id = row["id"]
            # A fresh token may carry fresh data (a new api URL, a later deadline).
            db.execute(
                "UPDATE sessions SET nickname = :nickname, subject = :subject, template = :template,"
                " api = :api, referrer = :referrer, url = :url, timeout = :timeout,"
                " deadline = :deadline, payload = :payload WHERE id = :id",
                {**fields, "id": session_id},
            )
        db.execute("INSERT INTO access_tokens (token, session_id, created_at) VALUES (?, ?, ?)",
                   (access, session_id, now))
        db.execute("UPDATE sessions SET current_access = ? WHERE id = ?", (access, session_id))
    check_sessions(store)
    return get(store, session_id), access


def get(store: Store, session_id: str) -> sqlite3.Row:
    """Return the session row; raises SessionError (404) if unknown."""
    row = store.one("SELECT * FROM sessions WHERE id = ?", (session_id,))
    if row is None:
        raise SessionError("unknown session", 404)
    return row


def by_identifier(store: Store, identifier: str) -> sqlite3.Row:
    """Return the session with this identifier; raises SessionError (404) if unknown."""
    row = store.one("SELECT * FROM sessions WHERE identifier = ?", (identifier,))
    if row is None:
        raise SessionError("unknown session", 404)
    return row


def by_access(store: Store, access: str) -> tuple[sqlite3.Row, bool]:
    """Return the session an access token belongs to and whether that token is still current.

    Raises SessionError (401) for an unknown token.
    """
    row = store.one("SELECT session_id FROM access_tokens WHERE token = ?", (access,))
    if row is None:
        raise SessionError("invalid access token", 401)
    session = get(store, row["session_id"])
    return session, session["current_access"] == access


def start(store: Store, session_id: str, start_error: str = "") -> sqlite3.Row:
    """Mark the session started (idempotent while started).

    Raises SessionError: named (``start_error``) when the sandbox simulates an
    equipment failure, 403 after the deadline, 409 once the session has ended.
    """
    check_sessions(store)
    if start_error:
        raise SessionError(f"simulated start failure: {start_error}", 422, name=start_error)
    now = timeutil.now()
    store.execute("UPDATE sessions SET status = 'started', started_at = ?, last_seen = ?"
                  " WHERE id = ? AND status = 'created'", (now, now, session_id))
    row = get(store, session_id)
    if row["status"] == "skipped":
        raise SessionError("deadline passed: the session can no longer start", 403)
    if row["status"] != "started":
        raise SessionError(f"session is {row['status']}", 409)
    return row


def record_metrics(store: Store, session_id: str, posted: Mapping[str, object]) -> dict[str, Any]:
    """Store one heartbeat sample (posted values merged with injected ones) and return the event.

    Only a started session takes samples; others get their state back unchanged so
    the SDK can notice the end. Raises SessionError (404) for an unknown session.
    """
    row = get(store, session_id)
    if row["status"] != "started":
        return {"event": None, "session": row}
    injected = json.loads(row["injected"])
    merged = {c: max(metric_rules.clean(posted)[c], injected.get(c, 0)) for c in metric_rules.CODES}
    event = metric_rules.evaluate(merged)
    now = timeutil.now()
    with store.tx() as db:
        db.execute("INSERT INTO samples (session_id, at, metrics, score) VALUES (?, ?, ?, ?)",
                   (session_id, now, json.dumps(event["metrics"]), event["score"]))
        db.execute("UPDATE sessions SET last_seen = ? WHERE id = ? AND status = 'started'",
                   (now, session_id))
    return {"event": event, "session": get(store, session_id)}


def inject(store: Store, session_id: str, metric: str | None, value: int = 0) -> sqlite3.Row:
    """Set (or, with metric None, clear) a simulated violation for later samples.

    Raises SessionError (400) for an unknown metric code.
    """
    if metric is None:
        store.execute("UPDATE sessions SET injected = '{}' WHERE id = ?", (session_id,))
        return get(store, session_id)
    if metric not in metric_rules.CODES:
        raise SessionError(f"unknown metric code {metric!r}", 400)
    row = get(store, session_id)
    injected = json.loads(row["injected"])
    injected[metric] = max(0, min(100, int(value)))
    if not injected[metric]:
        del injected[metric]
    store.execute("UPDATE sessions SET injected = ? WHERE id = ?", (json.dumps(injected), session_id))
    return get(store, session_id)


def stop(store: Store, session_id: str, by: str, proctor: str | None = None) -> sqlite3.Row:
    """End a created or started session and enqueue its webhook.

    ``by`` is ``student``, ``proctor``, ``timeout`` or ``deadline``. Raises
    SessionError (409) if it has already ended.
    """
    now = timeutil.now()
    with store.tx() as db:
        changed = db.execute(
            "UPDATE sessions SET status = 'stopped', stopped_at = ?, stopped_by = ?, proctor = ?"
            " WHERE id = ? AND status IN ('created', 'started')",
            (now, by, proctor, session_id)).rowcount
        row = db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionError("unknown session", 404)
        if not changed:
            raise SessionError(f"session already {row['status']}", 409)
        enqueue_webhook(db, row, signed_at=now)
    return get(store, session_id)


def conclude(store: Store, session_id: str, status: str, comment: str | None,
             proctor: str) -> sqlite3.Row:
    """Set the proctor's conclusion on an ended session and enqueue a webhook.

    Raises SessionError: 400 for a status other than accepted/rejected, 409 while
    the session has not ended (or was skipped).
    """
    if status not in ("accepted", "rejected"):
        raise SessionError("status must be accepted or rejected", 400)
    now = timeutil.now()
    with store.tx() as db:
        changed = db.execute(
            "UPDATE sessions SET status = ?, comment = ?, proctor = ?, conclusion_at = ?"
            " WHERE id = ? AND status IN ('stopped', 'accepted', 'rejected')",
            (status, comment, proctor, now, session_id)).rowcount
        row = db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionError("unknown session", 404)
        if not changed:
            raise SessionError(f"a {row['status']} session cannot be concluded", 409)
        enqueue_webhook(db, row, signed_at=now)
    return get(store, session_id)


def check_sessions(store: Store) -> int:
    """Apply deadlines and inactivity timeouts; return how many sessions changed.

    Not started before the deadline -> ``skipped``; started and past the deadline,
    or silent for ``timeout`` minutes -> ``stopped`` by the system. Cheap enough to
    run on every request as well as from the background thread.
    """
    now = timeutil.now()
    changed = 0
    with store.tx() as db:
        due = db.execute(
            "SELECT * FROM sessions WHERE (status = 'created' AND deadline IS NOT NULL AND deadline < :now)"
            " OR (status = 'started' AND ((deadline IS NOT NULL AND deadline < :now)"
            "  OR (timeout IS NOT NULL AND last_seen + timeout * 60 < :now)))",
            {"now": now}).fetchall()
        for row in due:
            if row["status"] == "created":
                db.execute("UPDATE sessions SET status = 'skipped', stopped_at = ?, stopped_by = 'deadline'"
                           " WHERE id = ? AND status = 'created'", (now, row["id"]))
            else:
                by = "deadline" if row["deadline"] is not None and row["deadline"] < now else "timeout"
                db.execute("UPDATE sessions SET status = 'stopped', stopped_at = ?, stopped_by = ?"
                           " WHERE id = ? AND status = 'started'", (now, by, row["id"]))
            fresh = db.execute("SELECT * FROM sessions WHERE id = ?", (row["id"],)).fetchone()
            enqueue_webhook(db, fresh, signed_at=now)
            changed += 1
    return changed


def samples(store: Store, session_id: str) -> list[sqlite3.Row]:
    """All heartbeat samples of a session, oldest first."""
    return store.query("SELECT * FROM samples WHERE session_id = ? ORDER BY id", (session_id,))


def last_sample(store: Store, session_id: str) -> sqlite3.Row | None:
    """The newest sample of a session, or None."""
    return store.one("SELECT * FROM samples WHERE session_id = ? ORDER BY id DESC LIMIT 1",
                     (session_id,))


def session_object(row: sqlite3.Row) -> dict[str, Any]:
    """The session as the SDK's events carry it (``proctor`` set only for a proctor end)."""
    obj: dict[str, Any] = {
        "id": row["id"],
        "identifier": row["identifier"],
        "username": row["username"],
        "nickname": row["nickname"],
        "subject": row["subject"],
        "status": row["status"],
        "startedAt": timeutil.iso(row["started_at"]),
        "stoppedAt": timeutil.iso(row["stopped_at"]),
        "stoppedBy": row["stopped_by"],
    }
    if row["stopped_by"] == "proctor" and row["proctor"]:
        obj["proctor"] = row["proctor"]
    return obj

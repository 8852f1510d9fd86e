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
from typing import Any, Collection, Mapping

from .. import timeutil
from ..store import Store
from . import metrics as metric_rules
from .webhooks import enqueue_webhook


class SessionError(Exception):
    """A request the session's state does not allow; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def open_session(store: Store, claims: Mapping[str, Any], report_base: str) -> tuple[sqlite3.Row, str]:
    """Create or resume the session of a verified student token; return it and a new session token.

    Every tab gets its own session token (the bearer of the REST calls and the
    socket). Raises SessionError (409) if another username owns the identifier.
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
                " referrer, url, timeout, deadline, payload, status, created_at, updated_at,"
                " report_base)"
                " VALUES (:id, :identifier, :username, :nickname, :subject, :template, :api,"
                " :referrer, :url, :timeout, :deadline, :payload, 'created', :now, :now, :base)",
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


def by_access(store: Store, access: str) -> sqlite3.Row:
    """Return the session a session token belongs to.

    Raises SessionError (401) for an unknown token or one ended by ``logout``.
    """
    row = store.one("SELECT session_id FROM access_tokens WHERE token = ? AND revoked_at IS NULL",
                    (access,)) if access else None
    if row is None:
        raise SessionError("invalid session token", 401)
    return get(store, row["session_id"])


def logout(store: Store, access: str) -> None:
    """End a session token: later calls and socket connections with it are refused (401)."""
    store.execute("UPDATE access_tokens SET revoked_at = ? WHERE token = ? AND revoked_at IS NULL",
                  (timeutil.now(), access))


# updatedAt must change with every start, even two within one millisecond: a tab tells
# a newer start (another tab) from its own by comparing it.
_BUMP = "MAX(:now, COALESCE(updated_at, 0) + 0.001)"


def start(store: Store, session_id: str) -> sqlite3.Row:
    """Start the session, or resume it while started; either way ``updated_at`` moves on.

    Raises SessionError: 403 once skipped (the deadline passed before a start), 409
    once the session has ended.
    """
    now = timeutil.now()
    changed = store.execute(
        "UPDATE sessions SET status = 'started', started_at = COALESCE(started_at, :now),"
        f" last_seen = :now, updated_at = {_BUMP}"
        " WHERE id = :id AND status IN ('created', 'started')", {"now": now, "id": session_id})
    row = get(store, session_id)
    if not changed and row["status"] == "skipped":
        raise SessionError("deadline passed: the session can no longer start", 403)
    if not changed:
        raise SessionError(f"session is {row['status']}", 409)
    return row


def record_event(store: Store, session_id: str, posted: Mapping[str, object]) -> dict[str, Any] | None:
    """Store the metrics of a chat ``event`` as one sample; return the sample's metrics event.

    The sample is the posted values merged with the injected ones (the larger wins),
    scored by the SDK's rule. Only a started session takes samples (None otherwise);
    each one counts as activity for the inactivity timeout. Raises SessionError (404)
    for an unknown session.
    """
    row = get(store, session_id)
    if row["status"] != "started":
        return None
    injected = json.loads(row["injected"])
    merged = {c: max(metric_rules.clean(posted)[c], injected.get(c, 0)) for c in metric_rules.CODES}
    event = metric_rules.evaluate(merged)
    now = timeutil.now()
    with store.tx() as db:
        db.execute("INSERT INTO samples (session_id, at, metrics, score) VALUES (?, ?, ?, ?)",
                   (session_id, now, json.dumps(event["metrics"]), event["score"]))
        db.execute("UPDATE sessions SET last_seen = ? WHERE id = ? AND status = 'started'",
                   (now, session_id))
    return event


def touch(store: Store, session_id: str) -> None:
    """Count this moment as activity of a started session (a socket came or went)."""
    store.execute("UPDATE sessions SET last_seen = ? WHERE id = ? AND status = 'started'",
                  (timeutil.now(), session_id))


def inject(store: Store, session_id: str, metric: str | None, value: int = 0) -> sqlite3.Row:
    """Set (or, with metric None, clear) a simulated violation for later samples.

    Raises SessionError (400) for an unknown metric code.
    """
    now = timeutil.now()
    if metric is None:
        store.execute(f"UPDATE sessions SET injected = '{{}}', updated_at = {_BUMP} WHERE id = :id",
                      {"now": now, "id": session_id})
        return get(store, session_id)
    if metric not in metric_rules.CODES:
        raise SessionError(f"unknown metric code {metric!r}", 400)
    with store.lock:  # the read and the write below are one step for other threads
        row = get(store, session_id)
        injected = json.loads(row["injected"])
        injected[metric] = max(0, min(100, int(value)))
        if not injected[metric]:
            del injected[metric]
        store.execute(f"UPDATE sessions SET injected = :injected, updated_at = {_BUMP} WHERE id = :id",
                      {"injected": json.dumps(injected), "now": now, "id": session_id})
    return get(store, session_id)


def stop(store: Store, session_id: str, by: str, proctor: str | None = None) -> sqlite3.Row:
    """End a created or started session and enqueue its webhook.

    ``by`` is ``student``, ``proctor``, ``timeout`` or ``deadline``. Raises
    SessionError (409) if it has already ended.
    """
    now = timeutil.now()
    with store.tx() as db:
        changed = db.execute(
            "UPDATE sessions SET status = 'stopped', stopped_at = :now, stopped_by = :by,"
            f" proctor = :proctor, updated_at = {_BUMP}"
            " WHERE id = :id AND status IN ('created', 'started')",
            {"now": now, "by": by, "proctor": proctor, "id": session_id}).rowcount
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
            "UPDATE sessions SET status = :status, comment = :comment, proctor = :proctor,"
            f" conclusion_at = :now, updated_at = {_BUMP}"
            " WHERE id = :id AND status IN ('stopped', 'accepted', 'rejected')",
            {"status": status, "comment": comment, "proctor": proctor, "now": now,
             "id": session_id}).rowcount
        row = db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionError("unknown session", 404)
        if not changed:
            raise SessionError(f"a {row['status']} session cannot be concluded", 409)
        enqueue_webhook(db, row, signed_at=now)
    return get(store, session_id)


def check_sessions(store: Store, live: Collection[str] = ()) -> list[sqlite3.Row]:
    """Apply deadlines and inactivity timeouts; return the sessions this call ended.

    Not started before the deadline -> ``skipped``; started and past the deadline,
    or silent for ``timeout`` minutes -> ``stopped`` by the system. Sessions in
    ``live`` (ids with a connected socket) are never silent. Cheap enough to run on
    every request as well as from the background thread.
    """
    now = timeutil.now()
    ended: list[sqlite3.Row] = []
    live_ids = json.dumps(sorted(live))
    with store.tx() as db:
        due = db.execute(
            "SELECT * FROM sessions WHERE (status = 'created' AND deadline IS NOT NULL AND deadline < :now)"
            " OR (status = 'started' AND ((deadline IS NOT NULL AND deadline < :now)"
            "  OR (timeout IS NOT NULL AND last_seen + timeout * 60 < :now"
            "      AND id NOT IN (SELECT value FROM json_each(:live)))))",
            {"now": now, "live": live_ids}).fetchall()
        for row in due:
            params = {"now": now, "id": row["id"]}
            if row["status"] == "created":
                db.execute("UPDATE sessions SET status = 'skipped', stopped_at = :now,"
                           f" stopped_by = 'deadline', updated_at = {_BUMP}"
                           " WHERE id = :id AND status = 'created'", params)
            else:
                by = "deadline" if row["deadline"] is not None and row["deadline"] < now else "timeout"
                db.execute("UPDATE sessions SET status = 'stopped', stopped_at = :now, stopped_by = :by,"
                           f" updated_at = {_BUMP} WHERE id = :id AND status = 'started'",
                           {**params, "by": by})
            fresh = db.execute("SELECT * FROM sessions WHERE id = ?", (row["id"],)).fetchone()
            enqueue_webhook(db, fresh, signed_at=now)
            ended.append(fresh)
    return ended


CHAT_TYPES = ("message", "event", "face")


def post_chat(store: Store, session_id: str, author: str, body: Any) -> tuple[dict[str, Any], dict | None]:
    """Store one chat message of the room; an ``event`` also becomes a metrics sample.

    ``body`` is ``{type, message?, metadata?}``; an event's ``metadata.metrics`` is an
    object of metric values. Returns (the stored message, the sample's metrics event
    or None). Raises SessionError (400) naming what is wrong with the body.
    """
    if not isinstance(body, dict):
        raise SessionError("the body must be a JSON object {type, message?, metadata?}", 400)
    kind = body.get("type")
    if kind not in CHAT_TYPES:
        raise SessionError(f"type must be one of {', '.join(CHAT_TYPES)}", 400)
    metadata = body.get("metadata") if body.get("metadata") is not None else {}
    if not isinstance(metadata, dict):
        raise SessionError("metadata must be an object", 400)
    if kind == "event" and not isinstance(metadata.get("metrics"), dict):
        raise SessionError("an event needs metadata.metrics, an object of metric values", 400)
    message = body.get("message")
    if message is not None and not isinstance(message, str):
        raise SessionError("message must be a string", 400)
    now = timeutil.now()
    with store.tx() as db:
        cur = db.execute("INSERT INTO chat (session_id, type, message, metadata, author, created_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)",
                         (session_id, kind, message, json.dumps(metadata), author, now))
        row = db.execute("SELECT * FROM chat WHERE id = ?", (cur.lastrowid,)).fetchone()
    event = record_event(store, session_id, metadata["metrics"]) if kind == "event" else None
    return chat_object(row), event


def chat_history(store: Store, session_id: str, kind: str | None, limit: int, skip: int) -> list[dict[str, Any]]:
    """The room's chat messages (of one ``kind`` if given), oldest first, paged."""
    sql = "SELECT * FROM chat WHERE session_id = ?"
    params: list[Any] = [session_id]
    if kind:
        sql += " AND type = ?"
        params.append(kind)
    sql += " ORDER BY id LIMIT ? OFFSET ?"
    params += [limit, skip]
    return [chat_object(r) for r in store.query(sql, tuple(params))]


def chat_object(row: sqlite3.Row) -> dict[str, Any]:
    """One chat message as the API answers it."""
    return {"id": str(row["id"]), "type": row["type"], "message": row["message"],
            "metadata": json.loads(row["metadata"]), "author": row["author"],
            "createdAt": timeutil.iso(row["created_at"])}


def samples(store: Store, session_id: str) -> list[sqlite3.Row]:
    """All metrics samples of a session, oldest first."""
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

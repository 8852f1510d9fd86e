"""The Supervisor results webhook: what is sent (contract 1.5) and when it is queued.

The payload is built when the state changes (so ``signedAt`` is the time of that
state) and queued in the outbox; the outbox sender adds the key header and sends it
as JSON or multipart, retrying until the receiver answers 200.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from .. import outbox, timeutil
from . import metrics as metric_rules


def build_payload(db: sqlite3.Connection, row: sqlite3.Row, signed_at: float) -> dict[str, Any]:
    """Return the webhook body for the session's current state, keys as real deliveries."""
    samples = db.execute("SELECT metrics, score FROM samples WHERE session_id = ? ORDER BY id",
                         (row["id"],)).fetchall()
    values = [json.loads(s["metrics"]) for s in samples]
    duration = 0
    if row["started_at"] is not None and row["stopped_at"] is not None:
        duration = int((row["stopped_at"] - row["started_at"]) // 60)
    concluded = row["status"] in ("accepted", "rejected")
    return {
        "identifier": row["identifier"],
        "link": f"{row['report_base'].rstrip('/')}/api/report/{row['identifier']}",
        "status": row["status"],
        "duration": duration,
        "startedAt": timeutil.iso(row["started_at"]),
        "stoppedAt": timeutil.iso(row["stopped_at"]),
        "score": samples[-1]["score"] if samples else None,
        "student": row["username"],
        "proctor": row["proctor"],
        "comment": row["comment"],
        "signedAt": timeutil.iso(signed_at),
        "conclusion": row["status"] if concluded else None,
        "averages": metric_rules.averages(values),
    }


def enqueue_webhook(db: sqlite3.Connection, row: sqlite3.Row, signed_at: float) -> int | None:
    """Queue a delivery of the session's state to its token's ``api`` URL.

    Returns the delivery id, or None when the token named no ``api`` (nothing to send).
    Must run inside the transaction that changed the state.
    """
    if not row["api"]:
        return None
    return outbox.enqueue(db, "webhook", row["identifier"], row["api"],
                          build_payload(db, row, signed_at))

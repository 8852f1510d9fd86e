"""A durable outbox for outbound deliveries (Supervisor webhooks, Constructor reviews).

Deliveries are rows in the store; a sender (the background thread, or ``send_due``
called by tests) posts each due one, records every try (time, HTTP status or error,
body excerpt, duration), and reschedules failures with exponential backoff
(``SANDBOX_RETRY_BASE * 2**(tries-1)``, capped at 60 s) until the receiver says 200.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from typing import Any

import jwt
import requests
from flask import Flask

from . import timeutil
from .store import Store

log = logging.getLogger("sandbox.outbox")

MAX_BACKOFF = 60.0
TIMEOUT = (3.05, 10)
BODY_EXCERPT = 300


def enqueue(db: sqlite3.Connection, kind: str, subject: str, url: str,
            payload: dict[str, Any], delay: float = 0.0) -> int:
    """Insert a pending delivery due after ``delay`` seconds; return its id."""
    now = timeutil.now()
    cur = db.execute(
        "INSERT INTO deliveries (kind, subject, url, payload, created_at, next_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (kind, subject, url, json.dumps(payload), now, now + delay))
    return int(cur.lastrowid)


def backoff(base: float, tries: int) -> float:
    """Seconds to wait after the ``tries``-th failed try."""
    return min(MAX_BACKOFF, base * (2 ** max(0, tries - 1)))


def send_due(app: Flask) -> int:
    """Send every delivery that is due now, once each; return how many were tried."""
    store: Store = app.extensions["sandbox_store"]
    due = store.query("SELECT * FROM deliveries WHERE state = 'pending' AND next_at <= ?"
                      " ORDER BY next_at, id", (timeutil.now(),))
    for row in due:
        send_one(app, row)
    return len(due)


def send_one(app: Flask, row: sqlite3.Row) -> bool:
    """Try one delivery, record the try and its outcome; True when the receiver said 200."""
    store: Store = app.extensions["sandbox_store"]
    settings = app.config
    payload = json.loads(row["payload"])
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    body = ""
    try:
        response = _post(app, row["kind"], row["url"], payload)
        status_code = response.status_code
        body = response.text[:BODY_EXCERPT]
    except requests.RequestException as exc:
        # A refused or dropped connection is an ordinary failed try, retried later.
        error = f"{type(exc).__name__}: {exc}"[:BODY_EXCERPT]
    ms = int((time.monotonic() - started) * 1000)
    ok = status_code == 200
    now = timeutil.now()
    with store.tx() as db:
        db.execute("INSERT INTO delivery_tries (delivery_id, at, status_code, error, body, ms)"
                   " VALUES (?, ?, ?, ?, ?, ?)", (row["id"], now, status_code, error, body, ms))
        tries = row["tries"] + 1
        if ok:
            db.execute("UPDATE deliveries SET state = 'delivered', tries = ?, delivered_at = ?"
                       " WHERE id = ?", (tries, now, row["id"]))
        else:
            wait = backoff(settings["SANDBOX_RETRY_BASE"], tries)
            db.execute("UPDATE deliveries SET tries = ?, next_at = ? WHERE id = ?",
                       (tries, now + wait, row["id"]))
    log.info("%s %s -> %s: %s in %d ms (try %d)", row["kind"], row["subject"], row["url"],
             status_code if status_code is not None else error, ms, row["tries"] + 1)
    return ok


def _post(app: Flask, kind: str, url: str, payload: dict[str, Any]) -> requests.Response:
    session: requests.Session = app.extensions["sandbox_http"]
    settings = app.config
    if kind == "review":
        # A fresh token per try: it proves the sender and when the request was made.
        token = jwt.encode({"exp": int(timeutil.now()) + 30}, settings["SANDBOX_CONSTRUCTOR_SECRET"],
                           algorithm="HS256")
        return session.post(url, json=payload, headers={"Authorization": f"JWT {token}"},
                            timeout=TIMEOUT)
    headers = {settings["SANDBOX_WEBHOOK_HEADER"]: settings["SANDBOX_WEBHOOK_KEY"]}
    if settings["SANDBOX_WEBHOOK_FORMAT"] == "multipart":
        return session.post(url, files=_multipart_fields(payload), headers=headers, timeout=TIMEOUT)
    return session.post(url, json=payload, headers=headers, timeout=TIMEOUT)


def _multipart_fields(payload: dict[str, Any]) -> dict[str, tuple[None, str]]:
    """Form fields as some deployments send them: text values, ``averages`` as JSON, nulls left out."""
    fields: dict[str, tuple[None, str]] = {}
    for name, value in payload.items():
        if value is None:
            continue
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        fields[name] = (None, text)
    return fields


def deliveries(store: Store, subject: str | None = None, kind: str | None = None,
               limit: int = 200) -> list[dict[str, Any]]:
    """Deliveries newest first, each with its tries, as the console shows them."""
    sql = "SELECT * FROM deliveries WHERE 1 = 1"
    params: list[Any] = []
    if subject:
        sql += " AND subject = ?"
        params.append(subject)
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    out = []
    for row in store.query(sql, tuple(params)):
        tries = store.query("SELECT * FROM delivery_tries WHERE delivery_id = ? ORDER BY id", (row["id"],))
        out.append({
            "id": row["id"], "kind": row["kind"], "subject": row["subject"], "url": row["url"],
            "state": row["state"], "tries": row["tries"], "payload": json.loads(row["payload"]),
            "createdAt": timeutil.iso(row["created_at"]),
            "nextAt": timeutil.iso(row["next_at"]) if row["state"] == "pending" else None,
            "deliveredAt": timeutil.iso(row["delivered_at"]),
            "attempts": [{"at": timeutil.iso(t["at"]), "status": t["status_code"], "error": t["error"],
                          "body": t["body"], "ms": t["ms"]} for t in tries],
        })
    return out

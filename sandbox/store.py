"""The sandbox's state: one SQLite database, one shared connection behind a lock.

The sandbox runs as a single process (gunicorn ``-w 1 --threads 100``), so a single
connection serialised by a lock is both simple and correct, and works the same for a
file and for ``:memory:``. The schema is created on first use, not at import.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL,
    nickname TEXT, subject TEXT, template TEXT,
    api TEXT, referrer TEXT, url TEXT,
    timeout REAL, deadline REAL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('created', 'started', 'stopped', 'skipped', 'accepted', 'rejected')),
    created_at REAL NOT NULL, started_at REAL, stopped_at REAL, last_seen REAL,
    updated_at REAL,
    stopped_by TEXT, proctor TEXT, comment TEXT, conclusion_at REAL,
    injected TEXT NOT NULL DEFAULT '{}',
    report_base TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS access_tokens (
    token TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS chat (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    type TEXT NOT NULL CHECK (type IN ('message', 'event', 'face')),
    message TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    author TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    at REAL NOT NULL,
    metrics TEXT NOT NULL,
    score INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'review')),
    subject TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered')),
    tries INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_at REAL NOT NULL,
    delivered_at REAL
);
CREATE TABLE IF NOT EXISTS delivery_tries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
    at REAL NOT NULL,
    status_code INTEGER,
    error TEXT,
    body TEXT,
    ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS c_sessions (
    session_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    view_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('created', 'started', 'finished', 'canceled')),
    finish_url TEXT,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL,
    conclusion TEXT, comment TEXT,
    warnings TEXT NOT NULL DEFAULT '[]',
    base TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS c_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    session_id TEXT NOT NULL,
    auth_ok INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Columns added after the first release: a state file of an older sandbox gains them.
ADDED_COLUMNS = (("sessions", "updated_at", "REAL"), ("access_tokens", "revoked_at", "REAL"))


class Store:
    """A thread-safe wrapper around one SQLite connection.

    Use ``with store.tx() as db:`` for anything that must be atomic; ``query`` and
    ``execute`` are one-statement shortcuts.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(SCHEMA)
            for table, column, kind in ADDED_COLUMNS:
                present = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            self._conn = conn
        return self._conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and a transaction; commit on success, roll back on error."""
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @property
    def lock(self) -> threading.RLock:
        """The store's re-entrant lock, for a read-modify-write spanning several calls."""
        return self._lock

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        """Run a read and return all rows."""
        with self._lock:
            return self._connect().execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        """Run a read and return the first row, or None."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: tuple | dict = ()) -> int:
        """Run one write in its own transaction; return the affected row count."""
        with self.tx() as db:
            return db.execute(sql, params).rowcount

    def get_setting(self, name: str, default: Any = None) -> Any:
        """Return a JSON setting stored at run time (e.g. the fault switches)."""
        row = self.one("SELECT value FROM settings WHERE name = ?", (name,))
        return json.loads(row["value"]) if row else default

    def set_setting(self, name: str, value: Any) -> None:
        """Store a JSON setting, replacing any previous value."""
        self.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, json.dumps(value)),
        )

    def close(self) -> None:
        """Close the connection (tests; the next use reopens it)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

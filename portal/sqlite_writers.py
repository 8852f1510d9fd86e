"""SQLite's writers wait in line on a lock file instead of in SQLite's busy handler.

SQLite has one write lock per database. A connection that finds it taken retries in
its busy handler, which sleeps 1, 2, 5, 10, ... up to 100 ms between tries: a writer
that commits and starts its next transaction at once usually wins again, and the others'
waits grow long and unfair (a p99 of seconds under load, with requests that need a
millisecond). Here every write transaction of the portal first takes an exclusive
`flock` on `<database>-writers.lock`, beside the database file: writers of every
process and thread queue on it, each trying again at most every `POLL_MAX` seconds,
so the one write lock of SQLite itself is found free and its busy handler never
sleeps.

The flock is held from a transaction's first write statement (INSERT, UPDATE, DELETE,
REPLACE: where Python's sqlite3 begins the transaction and SQLite takes its write lock)
to its commit, rollback or the connection's close; the kernel drops it when a process
dies, so a killed worker never leaves it held. The wait is bounded like SQLite's own
(the connection's `timeout`, 15 s in the portal): past it the statement fails with
`database is locked`, as it would have without the queue. Reads never take it (WAL: they
run beside the writer). A writer that does not use this connection class (another
program, the sqlite3 shell) is not queued; the portal's writers then wait for it in
SQLite's busy handler, as before.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import time

POLL_MIN, POLL_MAX = 0.00005, 0.001  # seconds between tries of a taken lock
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def lock_path(database: str) -> str | None:
    """The lock file of a database file; None for an in-memory database or a `file:` URI
    (its writers are not queued)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database + "-writers.lock"


class QueuedWritersConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions queue on the database's lock file
    (pass as `factory=` to sqlite3.connect). Raises sqlite3.OperationalError("database
    is locked") when the lock is not free within the connection's `timeout`.

    `synchronous` is the PRAGMA the portal sets on connect (`connection_class`)."""

    synchronous = "FULL"

    def __init__(self, database, timeout: float = 5.0, *args, **kwargs):
        super().__init__(database, timeout, *args, **kwargs)
        path = lock_path(os.fspath(database))
        self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if path else None
        self._lock_timeout = timeout
        self._locked = False
        self._relaxed = False

    def cursor(self, factory=None):  # noqa: D102 (sqlite3's signature)
        return super().cursor(factory or QueuedWritersCursor)

    # sqlite3's own shortcuts make their cursor in C, past `cursor()`: route them.
    def execute(self, sql, parameters=()):  # noqa: D102
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters):  # noqa: D102
        return self.cursor().executemany(sql, seq_of_parameters)

    def acquire_writer_lock(self) -> None:
        """Take the lock file before this connection's first write (no-op if held)."""
        if self._locked or self._lock_fd is None:
            return
        deadline = time.monotonic() + self._lock_timeout
        pause = POLL_MIN
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(pause)
                pause = min(pause * 2, POLL_MAX)
        self._locked = True

    def release_writer_lock(self) -> None:
        if self._locked:
            self._locked = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def relax_next_commit(self) -> None:
        """The next transaction commits with `synchronous=NORMAL` (portal/durability.py
        says what that guarantees). No-op inside a transaction: SQLite cannot change the
        setting there, and the transaction keeps the connection's own."""
        if not self.in_transaction and not self._relaxed and self.synchronous != "NORMAL":
            super().execute("PRAGMA synchronous=NORMAL")
            self._relaxed = True

    def _end_relaxed(self) -> None:
        if self._relaxed:
            self._relaxed = False
            super().execute(f"PRAGMA synchronous={self.synchronous}")

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_writer_lock()
            self._end_relaxed()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer_lock()
            self._end_relaxed()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer_lock()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def __del__(self) -> None:
        # A connection dropped without close(): its descriptor (and any lock on it) goes too.
        fd, self._lock_fd = getattr(self, "_lock_fd", None), None
        if fd is not None:
            os.close(fd)


_CLASSES: dict[str, type[QueuedWritersConnection]] = {"FULL": QueuedWritersConnection}


def connection_class(synchronous: str) -> type[QueuedWritersConnection]:
    """The connection class for sqlite3.connect(factory=...) whose connections get
    `PRAGMA synchronous=<synchronous>` (FULL or NORMAL) on connect."""
    if synchronous not in _CLASSES:
        _CLASSES[synchronous] = type(f"QueuedWritersConnection{synchronous.title()}",
                                     (QueuedWritersConnection,), {"synchronous": synchronous})
    return _CLASSES[synchronous]


class QueuedWritersCursor(sqlite3.Cursor):
    """Takes the connection's writer lock before a write statement."""

    def execute(self, sql, parameters=()):  # noqa: D102
        if sql.lstrip()[:7].upper().startswith(_WRITES):
            self.connection.acquire_writer_lock()
        return super().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters):  # noqa: D102
        if sql.lstrip()[:7].upper().startswith(_WRITES):
            self.connection.acquire_writer_lock()
        return super().executemany(sql, seq_of_parameters)

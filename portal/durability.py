"""How long a commit waits for the disk: every commit until it is on disk, except the
page's telemetry.

Every commit of the portal waits until the database has its transaction on disk: SQLite
in WAL mode with `synchronous=FULL` (SQLITE_SYNCHRONOUS) fsyncs the log at each commit,
PostgreSQL flushes its WAL (`synchronous_commit=on`, its default). Once a request answers,
what it stored survives a crash of the portal, of the database server and of the machine
(a power loss).

One kind of write is exempt, by choice: a **metrics post**, the page's proctoring
telemetry (samples the page's SDK measured: the page's word, never a fact the portal
decides on, docs/security.md), which is most of the exam-day traffic. Its transaction
commits without waiting for the disk (`telemetry_commit()`):
- SQLite: that transaction runs with `synchronous=NORMAL`. A crash of the portal (a
  killed worker) loses nothing: the commit is in the operating system's cache. A power
  loss or an operating-system crash may lose the last such commits before it (the
  database stays consistent: WAL never tears a transaction); the next fully durable
  commit (any answer save, delivery or submit) flushes them too.
- PostgreSQL: `SET LOCAL synchronous_commit TO off` for that transaction: a crash of the
  database server or of the machine may lose the last such commits (at most about three
  times `wal_writer_delay`, 0.6 s by default); the database stays consistent.
So at worst a few seconds of metrics samples are missing from an attempt's timeline
after a power loss. Answers, deliveries, attempts' states and everything else keep the
full guarantee. docs/benchmarks.md ("Durability") measures what it buys.
"""
from __future__ import annotations

from portal.extensions import db


def telemetry_commit() -> None:
    """This transaction holds only page telemetry: its commit need not wait for the disk.

    Call it before the transaction's first write. On SQLite, a transaction that already
    wrote keeps the full guarantee (SQLite cannot change it mid-transaction); the
    setting ends with the transaction either way."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO off")
        return
    dbapi = connection.connection.driver_connection
    relax = getattr(dbapi, "relax_next_commit", None)
    if relax is not None:  # the portal's own SQLite connections (sqlite_writers.py)
        relax()

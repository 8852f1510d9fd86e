"""SQLite's writers queue on a lock file beside the database (portal/sqlite_writers.py)."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from portal import sqlite_writers
from portal.extensions import db
from tests.support.app import make_app


def _connect(path, timeout: float = 5.0) -> sqlite_writers.QueuedWritersConnection:
    conn = sqlite3.connect(str(path), timeout=timeout,
                           factory=sqlite_writers.QueuedWritersConnection,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    conn.commit()
    return conn


def test_a_second_writer_waits_for_the_first_to_commit_without_sqlites_busy_handler(tmp_path):
    """The second writer waits on the lock file, not in SQLite: its own busy timeout is
    0 (SQLite would fail at once), yet it writes as soon as the first commits."""
    first = _connect(tmp_path / "q.sqlite")
    second = _connect(tmp_path / "q.sqlite", timeout=5.0)
    second.execute("PRAGMA busy_timeout=0")
    first.execute("INSERT INTO t VALUES (1)")  # holds the lock file and SQLite's write lock
    done = threading.Event()

    def write() -> None:
        second.execute("INSERT INTO t VALUES (2)")
        second.commit()
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not done.wait(0.3), "the second writer must wait while the first holds the lock"
    first.commit()
    assert done.wait(5), "the second writer must go on once the first committed"
    writer.join()
    assert [r[0] for r in first.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    first.close()
    second.close()


@pytest.mark.parametrize("ending", ["commit", "rollback", "close"])
def test_the_lock_is_released_when_the_transaction_or_connection_ends(tmp_path, ending):
    first = _connect(tmp_path / "q.sqlite")
    second = _connect(tmp_path / "q.sqlite", timeout=0.2)
    first.execute("UPDATE t SET x = 1")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        second.execute("INSERT INTO t VALUES (2)")  # bounded by the connection's timeout
    getattr(first, ending)()
    second.execute("INSERT INTO t VALUES (2)")
    second.commit()
    second.close()
    if ending != "close":
        first.close()


def test_reads_do_not_take_the_lock(tmp_path):
    writer = _connect(tmp_path / "q.sqlite")
    reader = _connect(tmp_path / "q.sqlite", timeout=0.1)
    writer.execute("INSERT INTO t VALUES (1)")
    started = time.monotonic()
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)  # WAL: beside the writer
    assert time.monotonic() - started < 0.1
    writer.commit()
    writer.close()
    reader.close()


def test_in_memory_databases_have_no_lock_file():
    assert sqlite_writers.lock_path(":memory:") is None
    assert sqlite_writers.lock_path("file:x?mode=memory") is None
    assert sqlite_writers.lock_path("/srv/portal.sqlite") == "/srv/portal.sqlite-writers.lock"


def test_the_portal_uses_it_on_sqlite(tmp_path):
    """The app's SQLite connections queue (lock file beside the database) and keep the
    pragmas: WAL, foreign keys, synchronous FULL (the default: durable on power loss)."""
    app = make_app("sqlite", tmp_path)
    with app.app_context():
        raw = db.session.connection().connection.dbapi_connection
        assert isinstance(raw, sqlite_writers.QueuedWritersConnection)
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        db.session.remove()
    assert (tmp_path / "portal.sqlite-writers.lock").exists()


def test_sqlite_synchronous_normal_is_a_setting(tmp_path):
    """SQLITE_SYNCHRONOUS=NORMAL (any case) gives PRAGMA synchronous=NORMAL (1); the
    writers still queue."""
    app = make_app("sqlite", tmp_path, SQLITE_SYNCHRONOUS="normal")
    with app.app_context():
        assert app.config["SQLITE_SYNCHRONOUS"] == "NORMAL"
        raw = db.session.connection().connection.dbapi_connection
        assert isinstance(raw, sqlite_writers.QueuedWritersConnection)
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1
        db.session.remove()


def test_an_unknown_sqlite_synchronous_is_refused_with_the_choices():
    from portal.config import DEFAULTS, ConfigError, validate

    settings = {**DEFAULTS, "PORTAL_MODE": "demo", "SQLITE_SYNCHRONOUS": "OFF"}
    with pytest.raises(ConfigError, match=r"SQLITE_SYNCHRONOUS='OFF': expected FULL .* or NORMAL"):
        validate(settings)

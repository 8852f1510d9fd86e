"""How long each commit waits for the disk (portal/durability.py): every commit is fully
durable except a metrics post's, whose transaction holds only the page's telemetry."""
import sqlite3

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.sqlite_writers import connection_class
from tests.support.page_events import SAMPLE

FULL, NORMAL = 2, 1  # PRAGMA synchronous


@pytest.fixture
def commit_settings(app):
    """What each commit of the app's engine waits for, read on its connection right
    before the commit: SQLite's `synchronous`, PostgreSQL's `synchronous_commit`."""
    seen: list = []

    def before_commit(connection) -> None:
        if connection.dialect.name == "sqlite":
            setting = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        else:
            setting = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
        seen.append(setting)

    event.listen(db.engine, "commit", before_commit)
    yield seen
    event.remove(db.engine, "commit", before_commit)


def _full(backend: str):
    return FULL if backend == "sqlite" else "on"


def _relaxed(backend: str):
    return NORMAL if backend == "sqlite" else "off"


def test_a_metrics_post_commits_without_waiting_for_the_disk_and_nothing_else_does(
        client, running, exam, commit_settings, backend):
    attempt_id, headers = running
    question = exam.questions[0].id
    commit_settings.clear()
    assert client.put(f"/api/attempts/{attempt_id}/answers/{question}", json={"value": 1},
                      headers=headers).status_code == 200
    assert commit_settings == [_full(backend)]

    commit_settings.clear()
    assert client.post(f"/api/attempts/{attempt_id}/metrics", json={"samples": [SAMPLE]},
                       headers=headers).status_code == 200
    assert commit_settings == [_relaxed(backend)]

    # The connection is back to the full guarantee for whatever comes next on it.
    commit_settings.clear()
    assert client.post(f"/api/attempts/{attempt_id}/submit", headers=headers).status_code == 200
    assert commit_settings == [_full(backend)]


def test_a_refused_metrics_post_leaves_the_connection_fully_durable(
        client, running, exam, commit_settings, backend):
    attempt_id, headers = running
    response = client.post(f"/api/attempts/{attempt_id}/metrics",
                           json={"samples": [{"metrics": {"zz": 1}}]}, headers=headers)
    assert response.status_code == 400
    commit_settings.clear()
    question = exam.questions[0].id
    client.put(f"/api/attempts/{attempt_id}/answers/{question}", json={"value": 0},
               headers=headers)
    assert commit_settings == [_full(backend)]


# ---- the SQLite connection's switch -------------------------------------------------

@pytest.fixture
def sqlite_connection(tmp_path):
    connection = sqlite3.connect(tmp_path / "d.sqlite", factory=connection_class("FULL"))
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    yield connection
    connection.close()


def _synchronous(connection) -> int:
    return connection.execute("PRAGMA synchronous").fetchone()[0]


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_relaxed_for_one_transaction_then_full_again(sqlite_connection, end):
    sqlite_connection.relax_next_commit()
    assert _synchronous(sqlite_connection) == NORMAL
    sqlite_connection.execute("INSERT INTO t VALUES (1)")
    getattr(sqlite_connection, end)()
    assert _synchronous(sqlite_connection) == FULL


def test_a_transaction_that_already_wrote_keeps_the_full_guarantee(sqlite_connection):
    sqlite_connection.execute("INSERT INTO t VALUES (1)")
    sqlite_connection.relax_next_commit()  # SQLite refuses the change mid-transaction
    assert _synchronous(sqlite_connection) == FULL
    sqlite_connection.commit()
    assert _synchronous(sqlite_connection) == FULL


def test_a_connection_set_to_normal_stays_normal(tmp_path):
    connection = sqlite3.connect(tmp_path / "n.sqlite", factory=connection_class("NORMAL"))
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.relax_next_commit()
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    assert _synchronous(connection) == NORMAL
    connection.close()

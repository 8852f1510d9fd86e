"""The Alembic migrations build exactly the schema the models describe."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from portal import create_app
from portal.extensions import db
from tests.support.app import BASE_CONFIG, TEST_DATABASE_URL


def _fresh_url(backend, tmp_path):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    engine = create_engine(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS migration_test CASCADE"))
        conn.execute(text("CREATE SCHEMA migration_test"))
    engine.dispose()
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    return TEST_DATABASE_URL + separator + "options=-csearch_path%3Dmigration_test"


def test_upgrade_head_matches_the_models(backend, tmp_path):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": _fresh_url(backend, tmp_path)})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == [], "models and migrations differ: run `flask --app wsgi db migrate`"


def _two_students_and_an_exam(session) -> None:
    """Rows written in SQL as the oldest schema has them (users 1-2, exam 1): what the
    data-survival tests below migrate."""
    now = "CURRENT_TIMESTAMP"
    session.execute(text(
        "INSERT INTO users (id, username, password_hash, role, display_name, public_id, "
        f"created_at) VALUES (1, 'u1', 'x', 'student', 'U', 'p1', {now}), "
        f"(2, 'u2', 'x', 'student', 'V', 'p2', {now})"))
    session.execute(text(
        "INSERT INTO exams (id, slug, title, description, time_limit_minutes, proctors, "
        f"tags, created_at) VALUES (1, 'e', 'E', '', 30, '[]', '[]', {now})"))


def test_0003_keeps_every_row_and_sorts_the_old_evidence(backend, tmp_path):
    """Adding the evidence columns and the exam's CHECKs must not rebuild `exams` on
    SQLite (a rebuild with foreign keys on would cascade-delete every attempt); the
    page's old start report becomes page_started_at, a linked result vendor evidence."""
    from flask_migrate import downgrade
    from sqlalchemy.exc import IntegrityError

    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": _fresh_url(backend, tmp_path)})
    with app.app_context():
        upgrade(revision="0001")
        session = db.session
        now = "CURRENT_TIMESTAMP"
        _two_students_and_an_exam(session)
        session.execute(text(
            "INSERT INTO attempts (id, exam_id, user_id, identifier, state, vendor, created_at, "
            f"started_at, updated_at) VALUES (1, 1, 1, 'a1', 'submitted', 'supervisor', {now}, "
            f"{now}, {now}), (2, 1, 2, 'a2', 'created', 'supervisor', {now}, NULL, {now})"))
        session.execute(text(
            "INSERT INTO proctoring_results (identifier, attempt_id, vendor, rank, averages, "
            f"details, created_at, updated_at) VALUES ('a1', 1, 'supervisor', 0, '{{}}', '{{}}', "
            f"{now}, {now})"))
        session.commit()
        upgrade()
        rows = session.execute(text(
            "SELECT id, page_started_at IS NOT NULL, vendor_first_delivery_at IS NOT NULL, "
            "vendor_started_at IS NULL FROM attempts ORDER BY id")).all()
        assert [tuple(bool(v) if i else v for i, v in enumerate(r)) for r in rows] == [
            (1, True, True, True), (2, False, False, True)]
        assert session.execute(text("SELECT threshold, show_points FROM exams")).one() == (
            50, "after_close")
        session.commit()
        for bad in ("threshold = 101", "show_points = 'always'"):
            try:
                session.execute(text(f"UPDATE exams SET {bad}"))
                session.commit()
                raise AssertionError(f"{bad} was accepted")
            except IntegrityError:
                session.rollback()
        downgrade(revision="0001")
        assert session.execute(text("SELECT count(*) FROM attempts")).scalar() == 2
        session.commit()
        session.remove()
        db.engine.dispose()


def test_0005_keeps_every_attempt_and_what_references_it(backend, tmp_path):
    """0005 replaces UNIQUE(exam_id, user_id) by a partial unique index over the current
    attempts: on SQLite that rebuilds `attempts`, which answers, results, samples and
    outbox jobs reference with ON DELETE CASCADE, so the rebuild must cascade nothing.
    Down again, every row is still there; a downgrade with reopened attempts refuses."""
    from flask_migrate import downgrade
    from sqlalchemy.exc import IntegrityError

    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": _fresh_url(backend, tmp_path)})
    tables = ("attempts", "answers", "proctoring_results", "metric_samples", "outbox_jobs")

    def counts():
        found = [session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables]
        session.commit()  # no lock held while the migration runs on its own connection
        return found

    with app.app_context():
        upgrade(revision="0004")
        session = db.session
        now = "CURRENT_TIMESTAMP"
        _two_students_and_an_exam(session)
        session.execute(text(
            "INSERT INTO questions (id, exam_id, position, kind, prompt, options, correct, "
            "points) VALUES (1, 1, 1, 'text', 'Q', '[]', '[]', 1)"))
        session.execute(text(
            "INSERT INTO attempts (id, exam_id, user_id, identifier, state, vendor, created_at, "
            f"started_at, updated_at) VALUES (1, 1, 1, 'a1', 'submitted', 'constructor', {now}, "
            f"{now}, {now}), (2, 1, 2, 'a2', 'created', 'supervisor', {now}, NULL, {now})"))
        session.execute(text(
            "INSERT INTO answers (attempt_id, question_id, value, updated_at) "
            f"VALUES (1, 1, '\"x\"', {now})"))
        session.execute(text(
            "INSERT INTO proctoring_results (identifier, attempt_id, vendor, rank, averages, "
            f"details, created_at, updated_at) VALUES ('a1', 1, 'constructor', 0, '{{}}', "
            f"'{{}}', {now}, {now})"))
        session.execute(text(
            "INSERT INTO metric_samples (attempt_id, recorded_at, violated, metrics) "
            f"VALUES (1, {now}, false, '{{}}')"))
        session.execute(text(
            "INSERT INTO outbox_jobs (kind, attempt_id, payload, state, tries, next_try_at, "
            f"created_at, updated_at) VALUES ('constructor_finish', 1, '{{}}', 'done', 1, {now}, "
            f"{now}, {now})"))
        session.commit()
        assert counts() == [2, 1, 1, 1, 1]
        upgrade()
        assert counts() == [2, 1, 1, 1, 1]
        assert session.execute(text(
            "SELECT count(*) FROM proctoring_results WHERE attempt_id = 1")).scalar() == 1
        session.commit()

        def refused(statement: str) -> bool:
            try:
                session.execute(text(statement))
                session.commit()
                return False
            except IntegrityError:
                session.rollback()
                return True

        second = ("INSERT INTO attempts (id, exam_id, user_id, identifier, state, vendor, "
                  f"created_at, updated_at, reopened_from_id) VALUES (3, 1, 1, 'a3', 'created', "
                  f"'constructor', {now}, {now}, 1)")
        assert refused(second)  # attempt 1 is still the current one
        assert refused("UPDATE attempts SET state = 'paused' WHERE id = 2")  # CHECK kept
        session.execute(text(f"UPDATE attempts SET superseded_at = {now} WHERE id = 1"))
        session.execute(text(second))
        session.commit()
        assert refused("INSERT INTO allowances (exam_id, user_id, extra_minutes, reason, "
                       f"created_by_name, created_at) VALUES (1, 1, 1441, 'r', 't', {now})")
        with pytest.raises(SystemExit):  # flask_migrate logs the error and exits
            downgrade(revision="0004")
        session.rollback()
        assert session.execute(text("SELECT count(*) FROM attempts")).scalar() == 3
        session.commit()
        session.execute(text("DELETE FROM attempts WHERE id = 3"))
        session.execute(text("UPDATE attempts SET superseded_at = NULL"))
        session.commit()
        downgrade(revision="0004")
        assert counts() == [2, 1, 1, 1, 1]
        assert refused("INSERT INTO attempts (id, exam_id, user_id, identifier, state, vendor, "
                       f"created_at, updated_at) VALUES (4, 1, 1, 'a4', 'created', "
                       f"'supervisor', {now}, {now})")  # UNIQUE(exam_id, user_id) is back
        session.commit()
        session.remove()
        db.engine.dispose()

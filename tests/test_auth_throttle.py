"""Failed logins per username, in the database: a lockout after too many, the same for
unknown names, reset by a success, shared by every worker, exact under concurrency
(SQLite, and PostgreSQL with TEST_DATABASE_URL)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.auth import services
from portal.auth.models import LoginThrottle
from portal.db_types import utcnow
from portal.extensions import db
from tests.support.app import BASE_CONFIG, Auth, make_app

LIMIT = 3
LOCKED = "Too many failed logins for this username."


@pytest.fixture
def app(backend, tmp_path):
    app = make_app(backend, tmp_path, LOGIN_ACCOUNT_MAX_FAILURES=LIMIT,
                   LOGIN_ACCOUNT_WINDOW_MINUTES=10, LOGIN_ACCOUNT_LOCKOUT_MINUTES=15)
    with app.app_context():
        yield app
        db.session.remove()


def fail(auth, username="student1", times=1):
    return [auth.login(username, "wrong-password") for _ in range(times)]


def test_the_account_locks_after_the_limit_even_for_the_right_password(client, auth, student):
    responses = fail(auth, times=LIMIT)
    assert [r.status_code for r in responses] == [401] * LIMIT  # the limit-th is still checked
    locked = auth.login("student1", "password1")
    assert locked.status_code == 429
    assert LOCKED.encode() in locked.data and b"Wait 15 minutes" in locked.data
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert client.get("/").status_code == 302  # not logged in


def test_unknown_usernames_get_the_same_answers(client, auth, student):
    known = fail(auth, "student1", LIMIT + 1)
    unknown = fail(auth, "nobody", LIMIT + 1)
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * LIMIT + [429]
    for a, b in zip(known, unknown):
        assert a.get_data(as_text=True).replace("student1", "nobody") == b.get_data(as_text=True)
        waits = [r.headers.get("Retry-After") for r in (a, b)]
        assert waits == [None, None] or abs(int(waits[0]) - int(waits[1])) <= 1


def test_the_same_password_checks_for_known_and_unknown_names(app, student, monkeypatch):
    """Timing: a wrong name costs one hash check like a wrong password; a locked name,
    known or not, costs none."""
    from portal.auth import models

    checks = []
    real = models.check_password_hash
    for module in ("portal.auth.models", "portal.auth.services"):
        monkeypatch.setattr(f"{module}.check_password_hash",
                            lambda h, p: checks.append(1) or real(h, p))

    def hashes(username):
        checks.clear()
        with pytest.raises(services.LoginRefused) as refusal:
            services.log_in(username, "wrong-password")
        return len(checks), type(refusal.value)

    for _ in range(LIMIT):
        assert hashes("student1") == hashes("nobody") == (1, services.WrongCredentials)
    assert hashes("student1") == hashes("nobody") == (0, services.AccountLocked)


def test_a_success_resets_the_count(auth, student):
    fail(auth, times=LIMIT - 1)
    assert auth.login().status_code == 302
    auth.logout()
    assert [r.status_code for r in fail(auth, times=LIMIT - 1)] == [401] * (LIMIT - 1)
    assert auth.login().status_code == 302


def test_the_lockout_ends_and_the_window_moves_on(app, student):
    now = utcnow()
    for _ in range(LIMIT):
        with pytest.raises(services.WrongCredentials):
            services.log_in("student1", "wrong-password", now=now)
    with pytest.raises(services.AccountLocked):
        services.log_in("student1", "password1", now=now + timedelta(minutes=14))
    assert services.log_in("student1", "password1", now=now + timedelta(minutes=15)).username == "student1"
    # Failures spread wider than the window never lock.
    for minute in (20, 31, 42, 53):
        with pytest.raises(services.WrongCredentials):
            services.log_in("student1", "wrong-password", now=now + timedelta(minutes=minute))


def test_the_count_is_shared_by_every_worker(app, student, auth):
    """A second app on the same database (another gunicorn worker or host) sees the count."""
    fail(auth, times=LIMIT)
    worker = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "LOGIN_ACCOUNT_MAX_FAILURES": LIMIT})
    try:
        with worker.app_context():
            response = Auth(worker.test_client()).login("student1", "password1")
            assert response.status_code == 429 and LOCKED.encode() in response.data
    finally:
        with worker.app_context():
            db.session.remove()
            db.engine.dispose()


def test_concurrent_guesses_get_exactly_the_limit(app, student):
    """Twelve guesses at once: the database lets exactly LIMIT of them check a password."""
    guesses = 12
    barrier = threading.Barrier(guesses)
    outcomes: list[str] = []

    def guess():
        with app.app_context():
            barrier.wait()
            try:
                services.log_in("student1", "wrong-password")
            except services.LoginRefused as refusal:
                outcomes.append(type(refusal).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["AccountLocked"] * (guesses - LIMIT) + ["WrongCredentials"] * LIMIT
    assert db.session.scalar(select(LoginThrottle.failures)) == LIMIT


def test_names_typed_once_do_not_pile_up(app, student):
    now = utcnow()
    for name in ("typo1", "typo2", "guess"):
        with pytest.raises(services.WrongCredentials):
            services.log_in(name, "x" * 8, now=now)
    services.log_in("student1", "password1", now=now + timedelta(minutes=11))
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_the_limits_are_settings(backend, tmp_path):
    app = make_app(backend, tmp_path, LOGIN_ACCOUNT_MAX_FAILURES=1)
    with app.app_context():
        client = app.test_client()
        auth = Auth(client)
        assert [r.status_code for r in fail(auth, "someone", 2)] == [401, 429]
        db.session.remove()


def test_an_operator_lifts_a_lockout(auth, student, runner):
    fail(auth, times=LIMIT)
    assert auth.login().status_code == 429
    result = runner.invoke(args=["users", "unlock", "student1"])
    assert result.exit_code == 0 and "student1 may log in again." in result.output
    assert auth.login().status_code == 302
    result = runner.invoke(args=["users", "unlock", "student1"])
    assert "had no failed logins on record" in result.output

"""Failed logins per account, counted in the database (shared by every worker and host).

Each try is counted *before* its password is checked, by one conditional statement, so
concurrent guesses cannot all slip past a count that has not been written yet: the
database decides, row by row, which try is the last one allowed. The try that reaches
LOGIN_ACCOUNT_MAX_FAILURES within LOGIN_ACCOUNT_WINDOW_MINUTES still has its password
checked, and locks the name for LOGIN_ACCOUNT_LOCKOUT_MINUTES; a successful login forgets
the count. Rows are keyed by the username typed, known or not (see LoginThrottle).

The per-address limit (Flask-Limiter, LOGIN_RATE_LIMIT) stays in front of this one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, delete, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.auth.models import LoginThrottle
from portal.db_types import UTCDateTime
from portal.extensions import db

_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


@dataclass(frozen=True)
class Limits:
    max_failures: int
    window: timedelta
    lockout: timedelta

    @classmethod
    def from_config(cls) -> "Limits":
        config = current_app.config
        return cls(config["LOGIN_ACCOUNT_MAX_FAILURES"],
                   timedelta(minutes=config["LOGIN_ACCOUNT_WINDOW_MINUTES"]),
                   timedelta(minutes=config["LOGIN_ACCOUNT_LOCKOUT_MINUTES"]))


def _at(moment: datetime):
    """A bound datetime with the column type (naive UTC on both databases)."""
    return literal(moment, UTCDateTime())


def _insert_first_try(username: str, now: datetime, limits: Limits) -> bool:
    """The first counted try of a name without a row. False when the row exists."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in _INSERTS:
        raise RuntimeError(f"no race-free insert for the {dialect} database")
    locked_until = now + limits.lockout if limits.max_failures <= 1 else None
    # RETURNING, not rowcount: SQLAlchemy reports -1 for this INSERT on psycopg 3.
    inserted = db.session.execute(
        _INSERTS[dialect](LoginThrottle)
        .values(username=username, failures=1, window_start=now, locked_until=locked_until)
        .on_conflict_do_nothing(index_elements=["username"])
        .returning(LoginThrottle.username))
    return inserted.scalar() is not None


def _count_another_try(username: str, now: datetime, limits: Limits) -> bool:
    """Count one more try on an existing row unless it is locked. One UPDATE: the row
    lock (PostgreSQL) or the write lock (SQLite) orders concurrent tries. A try after
    the window has passed opens a new window. False when the name is locked."""
    window_over = LoginThrottle.window_start <= _at(now - limits.window)
    failures = case((window_over, 1), else_=LoginThrottle.failures + 1)
    result = db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.username == username,
               or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= _at(now)))
        .values(failures=failures,
                window_start=case((window_over, _at(now)), else_=LoginThrottle.window_start),
                locked_until=case((failures >= limits.max_failures, _at(now + limits.lockout)),
                                  else_=None))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def locked_until(username: str) -> datetime | None:
    return db.session.scalar(select(LoginThrottle.locked_until)
                             .where(LoginThrottle.username == username))


def count_try(username: str, now: datetime, limits: Limits | None = None) -> datetime | None:
    """Count a login try for `username` (in the caller's transaction; commit it before
    the slow password check). Returns None when the try may go ahead, else the time
    until which the name is locked."""
    limits = limits or Limits.from_config()
    # Two rounds at most: a row deleted by a concurrent successful login between the
    # INSERT (row present) and the UPDATE (row gone) is simply tried again.
    for _ in range(2):
        if _insert_first_try(username, now, limits) or _count_another_try(username, now, limits):
            return None
        until = locked_until(username)
        if until is not None and until > now:
            return until
    return now + limits.lockout


def forget(username: str, now: datetime, limits: Limits | None = None) -> None:
    """A successful login: forget the name's count. Rows whose window is over and that
    lock nothing go too, so names typed once (typos, guessed names) do not pile up."""
    limits = limits or Limits.from_config()
    stale = and_(LoginThrottle.window_start <= _at(now - limits.window),
                 or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= _at(now)))
    db.session.execute(delete(LoginThrottle)
                       .where(or_(LoginThrottle.username == username, stale))
                       .execution_options(synchronize_session=False))


def clear(username: str) -> bool:
    """Forget one name's count and lockout. True when there was one."""
    result = db.session.execute(delete(LoginThrottle).where(LoginThrottle.username == username)
                                .execution_options(synchronize_session=False))
    return result.rowcount == 1

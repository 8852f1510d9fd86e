"""Account rules: authentication, logging in, password changes, creation, CSV import."""
from __future__ import annotations

import csv
import math
import re
from datetime import datetime
from typing import IO, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm.util import identity_key
from werkzeug.security import check_password_hash, generate_password_hash

from portal.auth import throttle
from portal.auth.models import DUMMY_PASSWORD_HASH, ROLES, User
from portal.core import unit_of_work
from portal.db_types import utcnow
from portal.extensions import db

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD_LENGTH = 6


class AccountError(ValueError):
    """A user record that cannot be created as given (the message says why)."""


class LoginRefused(Exception):
    """A login that did not succeed; the message is for the person and is the same
    whether or not the username exists."""

    retry_after: int | None = None  # seconds, when waiting is the way forward


class WrongCredentials(LoginRefused):
    def __init__(self) -> None:
        super().__init__("Wrong username or password.")


class AccountLocked(LoginRefused):
    def __init__(self, until: datetime, now: datetime) -> None:
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))
        minutes = math.ceil(self.retry_after / 60)
        super().__init__(
            "Too many failed logins for this username. Wait "
            f"{minutes} minute{'s' if minutes != 1 else ''} and try again.")


def authenticate(username: str, password: str) -> User | None:
    """The user with these credentials, else None. A wrong username costs the same
    hash check as a wrong password, so neither timing nor message tells them apart."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(DUMMY_PASSWORD_HASH, password)
        return None
    return user if user.check_password(password) else None


def log_in(username: str, password: str, now: datetime | None = None) -> User:
    """The user with these credentials, if the name is not locked by failed logins.

    Two units of work, on purpose: the try is counted and stored (the request's
    `unit_of_work.checkpoint()`) before the password is checked, so a crash or a
    concurrent guess cannot skip the count and SQLite's write lock is not held during
    the slow hash; a success's reset is the request's own work (committed with it).
    Raises AccountLocked (the name is locked, for a known or an unknown name alike; the
    password is not checked) or WrongCredentials."""
    now = now or utcnow()
    name = username.strip()
    until = throttle.count_try(name, now)
    unit_of_work.checkpoint()
    if until is not None:
        raise AccountLocked(until, now)
    user = authenticate(name, password)
    if user is None:
        raise WrongCredentials()
    throttle.forget(name, now)
    db.session.flush()
    return user


def unlock(username: str) -> bool:
    """Lift a lockout by failed logins now (in the caller's transaction), e.g. for a
    student locked out by someone else's guesses. True when there was a count to forget."""
    return throttle.clear(username.strip())


def _check_password_rules(username: str, password: str) -> None:
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"user {username!r}: password must have at least "
                           f"{MIN_PASSWORD_LENGTH} characters")


def change_password(user: User, password: str) -> None:
    """Set a new password (in the caller's transaction) and end every session of the
    account: the session version moves on in the same UPDATE. Raises AccountError for
    a password that breaks the rules."""
    _check_password_rules(user.username, password)
    db.session.execute(
        update(User).where(User.id == user.id)
        .values(password_hash=generate_password_hash(password),
                session_version=User.session_version + 1)
        .execution_options(synchronize_session=False))
    db.session.expire(user)


def end_sessions(user_id: int) -> None:
    """End every session of the account (in the caller's transaction): sessions hold
    the version they logged in with, and this UPDATE moves it on, atomically."""
    db.session.execute(
        update(User).where(User.id == user_id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False))
    user = db.session.identity_map.get(identity_key(User, user_id))
    if user is not None:
        db.session.expire(user)


def create_user(username: str, password: str, role: str = "student",
                display_name: str | None = None, group: str | None = None,
                lang: str | None = None) -> User:
    """Add (not commit) a new user. Raises AccountError for a bad or taken username."""
    if not USERNAME_RE.match(username or ""):
        raise AccountError(f"username {username!r}: use 1-64 of A-Z a-z 0-9 _ . -")
    if role not in ROLES:
        raise AccountError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    _check_password_rules(username, password)
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise AccountError(f"username {username!r} is taken")
    user = User(username=username, role=role, display_name=display_name or username,
                group_name=group or None, lang=lang or None)
    user.set_password(password)
    db.session.add(user)
    return user


def import_users(rows: Iterable[dict[str, str]]) -> list[User]:
    """Create users from CSV rows (username,password,role,display_name,group,lang).

    All or nothing: raises AccountError naming the CSV line of the first problem.
    """
    users, seen = [], set()
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        username = (row.get("username") or "").strip()
        if username in seen:
            raise AccountError(f"line {line}: username {username!r} appears twice")
        seen.add(username)
        try:
            users.append(create_user(username, row.get("password") or "",
                                     (row.get("role") or "student").strip(),
                                     (row.get("display_name") or "").strip() or None,
                                     (row.get("group") or "").strip() or None,
                                     (row.get("lang") or "").strip() or None))
        except AccountError as error:
            raise AccountError(f"line {line}: {error}") from None
    return users


def read_users_csv(stream: IO[str]) -> list[dict[str, str]]:
    reader = csv.DictReader(stream)
    if not reader.fieldnames or not {"username", "password"} <= set(reader.fieldnames):
        raise AccountError("line 1: the header must name at least username,password")
    return list(reader)

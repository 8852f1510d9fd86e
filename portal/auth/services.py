"""Account rules: authentication, creation, CSV import."""
from __future__ import annotations

import csv
import re
from typing import IO, Iterable

from sqlalchemy import select

from portal.auth.models import DUMMY_PASSWORD_HASH, ROLES, User
from portal.extensions import db
from werkzeug.security import check_password_hash

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class AccountError(ValueError):
    """A user record that cannot be created as given (the message says why)."""


def authenticate(username: str, password: str) -> User | None:
    """The user with these credentials, else None. A wrong username costs the same
    hash check as a wrong password, so neither timing nor message tells them apart."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(DUMMY_PASSWORD_HASH, password)
        return None
    return user if user.check_password(password) else None


def create_user(username: str, password: str, role: str = "student",
                display_name: str | None = None, group: str | None = None,
                lang: str | None = None) -> User:
    """Add (not commit) a new user. Raises AccountError for a bad or taken username."""
    if not USERNAME_RE.match(username or ""):
        raise AccountError(f"username {username!r}: use 1-64 of A-Z a-z 0-9 _ . -")
    if role not in ROLES:
        raise AccountError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if not password or len(password) < 6:
        raise AccountError(f"user {username!r}: password must have at least 6 characters")
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

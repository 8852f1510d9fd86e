"""Accounts: students and instructors."""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from flask_login import AnonymousUserMixin, UserMixin
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

STUDENT, INSTRUCTOR = "student", "instructor"
ROLES = (STUDENT, INSTRUCTOR)


def new_public_id() -> str:
    """The user's stable id towards proctoring servers (token `username`): A-Za-z0-9."""
    return uuid.uuid4().hex


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('student', 'instructor')", name="ck_users_role"),
                      CheckConstraint("session_version >= 1", name="ck_users_session_version"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="student")
    display_name: Mapped[str] = mapped_column(String(120))
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    group_name: Mapped[str | None] = mapped_column(String(64))
    lang: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every session's login (get_id): logout and password changes raise it, and
    # a session holding an older value is no longer logged in (auth/sessions.py).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    def get_id(self) -> str:
        """What Flask-Login stores in the session at login: `<id>:<session_version>`."""
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_instructor(self) -> bool:
        return self.role == INSTRUCTOR

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class LoginThrottle(db.Model):
    """Failed logins of one username, counted in the database so every worker and host
    sees the same count (auth/throttle.py). Keyed by the name typed, not by the user, so
    an unknown username is throttled exactly like an account: the lockout tells nothing
    about which accounts exist."""

    __tablename__ = "login_throttles"
    __table_args__ = (CheckConstraint("failures >= 0", name="ck_login_throttles_failures"),)

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AnonymousUser(AnonymousUserMixin):
    """Anonymous visitors: every role check answers False."""

    is_instructor = False


# A password hash that a failed lookup is checked against, so a wrong username takes
# as long as a wrong password (no user enumeration by timing).
DUMMY_PASSWORD_HASH = generate_password_hash(secrets.token_urlsafe(16))

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

ROLES = ("student", "instructor")


def new_public_id() -> str:
    """The user's stable id towards proctoring servers (token `username`): A-Za-z0-9."""
    return uuid.uuid4().hex


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('student', 'instructor')", name="ck_users_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="student")
    display_name: Mapped[str] = mapped_column(String(120))
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    group_name: Mapped[str | None] = mapped_column(String(64))
    lang: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_instructor(self) -> bool:
        return self.role == "instructor"

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class AnonymousUser(AnonymousUserMixin):
    """Anonymous visitors: every role check answers False."""

    is_instructor = False


# A password hash that a failed lookup is checked against, so a wrong username takes
# as long as a wrong password (no user enumeration by timing).
DUMMY_PASSWORD_HASH = generate_password_hash(secrets.token_urlsafe(16))

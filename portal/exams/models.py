"""Exams, their questions, attempts and saved answers."""
from __future__ import annotations

import secrets
import string
from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint,
                        and_, case, text)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

QUESTION_KINDS = ("single", "multiple", "text")
# The vendors the database accepts (the CHECK on exams.vendor, as migration 0001 made it).
# The registry of providers is the list of vendors; a test keeps the two equal, so a new
# vendor comes with a migration of this CHECK.
VENDORS = ("supervisor", "constructor")
# When the result page shows points per question (the score total is always shown):
# after the student submitted, once the exam has closed for everyone, or never.
SHOW_POINTS = ("after_submission", "after_close", "never")
DEFAULT_SHOW_POINTS = "after_close"
# The proctoring score under which an attempt is flagged, unless the vendor's own result
# says otherwise (the proctoring template's usual 50).
DEFAULT_THRESHOLD = 50

# The attempt state machine. Every change is a conditional UPDATE (services.transition).
CREATED, IN_PROGRESS, SUBMITTED, TERMINATED, EXPIRED = (
    "created", "in_progress", "submitted", "terminated", "expired")
ATTEMPT_STATES = (CREATED, IN_PROGRESS, SUBMITTED, TERMINATED, EXPIRED)
OPEN_STATES = (CREATED, IN_PROGRESS)
CLOSED_STATES = (SUBMITTED, TERMINATED, EXPIRED)

# Extra minutes one allowance may grant: at least one, at most a day.
MAX_EXTRA_MINUTES = 24 * 60

_ALPHANUMERIC = string.ascii_letters + string.digits


def new_identifier() -> str:
    """The attempt's proctoring session id: 32 random A-Za-z0-9 (hard to guess)."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))


class Exam(db.Model):
    __tablename__ = "exams"
    __table_args__ = (
        CheckConstraint("time_limit_minutes > 0", name="ck_exams_time_limit"),
        CheckConstraint(f"vendor IS NULL OR vendor IN ({', '.join(map(repr, VENDORS))})",
                        name="ck_exams_vendor"),
        CheckConstraint("threshold >= 0 AND threshold <= 100", name="ck_exams_threshold"),
        CheckConstraint("show_points IN ('after_submission', 'after_close', 'never')",
                        name="ck_exams_show_points"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    time_limit_minutes: Mapped[int]
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proctoring_template: Mapped[str | None] = mapped_column(String(64))
    vendor: Mapped[str | None] = mapped_column(String(16))  # None: PROCTOR_VENDOR decides
    inactivity_timeout_minutes: Mapped[int | None]
    proctors: Mapped[list[str]] = mapped_column(JSON, default=list)  # token `invites`
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    threshold: Mapped[int] = mapped_column(default=DEFAULT_THRESHOLD,
                                           server_default=str(DEFAULT_THRESHOLD))
    show_points: Mapped[str] = mapped_column(String(16), default=DEFAULT_SHOW_POINTS,
                                             server_default=DEFAULT_SHOW_POINTS)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    questions: Mapped[list["Question"]] = relationship(
        back_populates="exam", order_by="Question.position", cascade="all, delete-orphan")

    def is_available(self, now: datetime) -> bool:
        return (self.opens_at is None or self.opens_at <= now) and (
            self.closes_at is None or now < self.closes_at)

    def has_closed(self, now: datetime) -> bool:
        """True once the exam's closing time has passed (never, without one)."""
        return self.closes_at is not None and now >= self.closes_at


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("exam_id", "position", name="uq_questions_exam_position"),
        CheckConstraint("kind IN ('single', 'multiple', 'text')", name="ck_questions_kind"),
        CheckConstraint("points >= 0", name="ck_questions_points"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    # single: [index]; multiple: [indexes]; text: accepted answers (case-insensitive)
    correct: Mapped[list[Any]] = mapped_column(JSON, default=list)
    points: Mapped[float] = mapped_column(default=1)

    exam: Mapped[Exam] = relationship(back_populates="questions")


def is_overdue(state: str, deadline_at: datetime | None, now: datetime) -> bool:
    """The one rule of "past its deadline", in Python (Attempt.overdue has its SQL): for
    an attempt loaded or read as a row (exams/reads.py)."""
    return state == IN_PROGRESS and deadline_at is not None and deadline_at <= now


def state_shown(state: str, deadline_at: datetime | None, now: datetime) -> str:
    """The state as shown now: expired once overdue, else the stored one."""
    return EXPIRED if is_overdue(state, deadline_at, now) else state


class Attempt(db.Model):
    __tablename__ = "attempts"
    __table_args__ = (
        # One current attempt per student and exam; a reopened one is superseded and
        # stays as history (portal/instructor/reopen.py).
        Index("uq_attempts_current", "exam_id", "user_id", unique=True,
              sqlite_where=text("superseded_at IS NULL"),
              postgresql_where=text("superseded_at IS NULL")),
        CheckConstraint(
            "state IN ('created', 'in_progress', 'submitted', 'terminated', 'expired')",
            name="ck_attempts_state"),
        # Overdue attempts: the sweep (services.expire_overdue) and the shown state.
        Index("ix_attempts_state_deadline", "state", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True, default=new_identifier)
    state: Mapped[str] = mapped_column(String(16), default=CREATED, index=True)
    vendor: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the questions were released: the time limit counts from here.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it closed, in words a person reads on the dashboard.
    close_reason: Mapped[str | None] = mapped_column(String(200))
    # Evidence, kept apart by source and never mixed (docs/security.md):
    # what the proctoring server told the portal...
    vendor_first_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    vendor_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # it confirmed the start
    vendor_status: Mapped[str | None] = mapped_column(String(32))  # its status API's last answer
    vendor_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ...and what the student's page reported (a claim only: the page can be forged).
    page_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    page_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None]
    max_score: Mapped[float | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 index=True)
    # Reopened by an instructor: the new attempt names the one it replaces (at most one
    # successor each), and the old one is marked superseded (no longer the student's).
    reopened_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id", ondelete="SET NULL"), unique=True)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    exam: Mapped[Exam] = relationship()
    user: Mapped["User"] = relationship()  # noqa: F821 (portal.auth.models)
    answers: Mapped[list["Answer"]] = relationship(back_populates="attempt",
                                                   cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    # The one rule of "past its deadline": a running attempt whose deadline has come.
    # Readers show such an attempt as expired now, without writing (`shown_state`);
    # writers close the row (services.expire_if_due / expire_overdue). In Python and as
    # SQL (the sweep's indexed condition; the dashboard's filters, flags and counts).
    @hybrid_method
    def overdue(self, now: datetime) -> bool:
        return is_overdue(self.state, self.deadline_at, now)

    @overdue.expression
    def overdue(cls, now: datetime):
        return and_(cls.state == IN_PROGRESS, cls.deadline_at <= now)

    @hybrid_method
    def shown_state(self, now: datetime) -> str:
        """The state as shown now: expired once overdue, else the stored one."""
        return state_shown(self.state, self.deadline_at, now)

    @shown_state.expression
    def shown_state(cls, now: datetime):
        return case((cls.overdue(now), EXPIRED), else_=cls.state)

    @hybrid_method
    def shown_closed_at(self, now: datetime) -> datetime | None:
        """When it closed, as shown now (an overdue one: at its deadline)."""
        return self.deadline_at if self.overdue(now) else self.closed_at

    @shown_closed_at.expression
    def shown_closed_at(cls, now: datetime):
        return case((cls.overdue(now), cls.deadline_at), else_=cls.closed_at)

    @property
    def is_current(self) -> bool:
        """The student's attempt for this exam (not replaced by a reopened one)."""
        return self.superseded_at is None

    @property
    def vendor_heard_from(self) -> bool:
        """The proctoring server has said something about this session (a delivery, or
        a status call that confirmed the start)."""
        return self.vendor_first_delivery_at is not None or self.vendor_started_at is not None


class Answer(db.Model):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id", name="uq_answers_attempt_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    value: Mapped[Any] = mapped_column(JSON)
    points: Mapped[float | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()


class Allowance(db.Model):
    """Extra minutes for one student in one exam; several add up. Removing one deletes
    its row (the staff log keeps that it existed)."""

    __tablename__ = "allowances"
    __table_args__ = (
        CheckConstraint(f"extra_minutes > 0 AND extra_minutes <= {MAX_EXTRA_MINUTES}",
                        name="ck_allowances_minutes"),
        CheckConstraint("length(reason) > 0", name="ck_allowances_reason"),
        Index("ix_allowances_exam_user", "exam_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    extra_minutes: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", foreign_keys=[user_id])

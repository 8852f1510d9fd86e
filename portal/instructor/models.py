"""The instructor's records: review decisions (current, one per attempt) and the
append-only log of every staff action (the history's own rows). Allowances are the
exam's (exams/models.py): the deadline rule reads them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

# Review decisions: keep the proctor's verdict, or overrule it either way.
DECISIONS = ("confirm", "accept", "reject")
DECISION_LABELS = {"confirm": "Confirm the proctor's verdict", "accept": "Accept",
                   "reject": "Reject"}
# What the staff log records.
ACTION_KINDS = ("allowance_added", "allowance_removed", "reopened", "decision")


class ReviewDecision(db.Model):
    """Staff's decision on a closed attempt, apart from the proctor's verdict (the
    delivery path never writes here). A new decision replaces the old one; every
    decision is also in the staff log. `verdict_status` is the proctor's status when it
    was made, so the page can say that the verdict changed afterwards."""

    __tablename__ = "review_decisions"
    __table_args__ = (
        CheckConstraint("decision IN ('confirm', 'accept', 'reject')",
                        name="ck_review_decisions_decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"),
                                            unique=True)
    decision: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_name: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verdict_status: Mapped[str | None] = mapped_column(String(16))

    @property
    def label(self) -> str:
        return DECISION_LABELS.get(self.decision, self.decision)


class StaffAction(db.Model):
    """Append-only: one row per staff action, written in the action's transaction."""

    __tablename__ = "staff_actions"
    __table_args__ = (
        CheckConstraint("kind IN ('allowance_added', 'allowance_removed', 'reopened', "
                        "'decision')", name="ck_staff_actions_kind"),
        Index("ix_staff_actions_exam_user", "exam_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200))
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The attempt it concerns (NULL: an allowance set before the student's first attempt).
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

"""What the proctoring servers tell the portal: results, raw deliveries, metric samples."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db
from portal.proctoring.vocabulary import RESULT_STATUSES


class ProctoringResult(db.Model):
    """One per proctoring session (`identifier`), updated by deliveries in rank order."""

    __tablename__ = "proctoring_results"
    __table_args__ = (
        CheckConstraint(
            f"status IS NULL OR status IN ({', '.join(map(repr, RESULT_STATUSES))})",
            name="ck_results_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(128), unique=True)
    # NULL while unmatched: no attempt has this identifier (yet).
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id", ondelete="SET NULL"), unique=True)
    vendor: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16), index=True)
    rank: Mapped[int] = mapped_column(default=0)
    # signedAt, else stoppedAt, of the applied delivery: the tie-break of equal ranks.
    order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None]
    threshold: Mapped[float | None]
    duration: Mapped[float | None]
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    student: Mapped[str | None] = mapped_column(String(128))
    proctor: Mapped[str | None] = mapped_column(String(128))
    comment: Mapped[str | None] = mapped_column(Text)
    conclusion: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(1000))
    averages: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    # Vendor extras kept for display: warnings, archive link, unknown fields.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 index=True)

    attempt = relationship("Attempt", backref=db.backref("result", uselist=False))


class WebhookDelivery(db.Model):
    """Append-only log of every authenticated delivery, with what was done with it."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    vendor: Mapped[str] = mapped_column(String(16))
    identifier: Mapped[str | None] = mapped_column(String(128), index=True)
    status: Mapped[str | None] = mapped_column(String(16))
    content_type: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text)
    # applied | stale | repeat | unmatched | invalid
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class MetricSample(db.Model):
    """One `metrics` event of the SDK, as the student's page received it."""

    __tablename__ = "metric_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"),
                                            index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    score: Mapped[float | None]
    threshold: Mapped[float | None]
    violated: Mapped[bool] = mapped_column(default=False)
    peak: Mapped[str | None] = mapped_column(String(8))
    metrics: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)

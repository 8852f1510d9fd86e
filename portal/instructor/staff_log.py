"""The append-only staff log: one row per instructor action, in the action's transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.db_types import utcnow
from portal.extensions import db
from portal.instructor.models import StaffAction


@dataclass(frozen=True)
class Actor:
    """Who acts: an instructor (by id and username) or the command line (no id)."""

    name: str
    user_id: int | None = None

    @classmethod
    def of(cls, user: Any) -> "Actor":
        return cls(user.username, user.id)


COMMAND_LINE = Actor("command line")


def record(kind: str, actor: Actor, *, exam_id: int, user_id: int, attempt_id: int | None,
           reason: str = "", details: dict[str, Any] | None = None,
           now: datetime | None = None) -> StaffAction:
    """Add the action's log row to the caller's transaction (flushed, not committed)."""
    row = StaffAction(kind=kind, actor_id=actor.user_id, actor_name=actor.name,
                      exam_id=exam_id, user_id=user_id, attempt_id=attempt_id, reason=reason,
                      details=details or {}, at=now or utcnow())
    db.session.add(row)
    db.session.flush()
    return row

"""The ordering rule of proctoring results: which of two deliveries about one session
wins, so a late, older delivery never overwrites a newer one (results.py applies it).

- rank: started (1) < skipped, stopped (2) < accepted, rejected (3); no status: 0;
- a delivery applies when its rank is higher than the stored one, or equal with an
  `order_at` (signedAt, else stoppedAt) not older than the stored one (a missing time
  is older than any time); the stored side is the result's stored `rank` and
  `order_at` columns, written with each applied delivery;
- the same content as the stored result is a `repeat`: nothing changes;
- equal rank and time with different content (a sender never produces it, as every
  change is signed anew) is decided by a hash of the content, so that the final result
  is the same whatever order the deliveries arrive in.
An applied delivery replaces every field: each delivery carries the session's whole
state, and merging would make the final result depend on the arrival order.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

RANKS = {"started": 1, "skipped": 2, "stopped": 2, "accepted": 3, "rejected": 3}
APPLIED, REPEAT, STALE = "applied", "repeat", "stale"  # what `decide` says

_NEVER = datetime.min.replace(tzinfo=timezone.utc)  # a missing time: older than any
CONTENT_FIELDS = ("status", "signed_at", "started_at", "stopped_at", "score", "threshold",
                   "duration", "student", "proctor", "comment", "conclusion", "link",
                   "averages", "details")


@dataclass
class ResultUpdate:
    """One delivery, normalised (vendor-neutral). Datetimes are aware UTC; `details`
    holds vendor extras and unknown fields (JSON-serialisable)."""

    identifier: str
    status: str | None  # started | skipped | stopped | accepted | rejected, or None
    signed_at: datetime | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    score: float | None = None
    threshold: float | None = None
    duration: float | None = None
    student: str | None = None
    proctor: str | None = None
    comment: str | None = None
    conclusion: str | None = None
    link: str | None = None
    averages: dict[str, float] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return RANKS.get(self.status, 0) if self.status else 0

    @property
    def order_at(self) -> datetime | None:
        """The tie-break of equal ranks: signedAt, else stoppedAt."""
        return self.signed_at or self.stopped_at

    def content(self) -> str:
        """Canonical text of everything but the identifier: equal content, equal text."""
        return _text(self._content_values())

    def _content_values(self) -> dict[str, Any]:
        """The values `content` is the text of (numbers as floats)."""
        values = {name: getattr(self, name) for name in CONTENT_FIELDS}
        for name in ("score", "threshold", "duration"):
            values[name] = None if values[name] is None else float(values[name])
        values["averages"] = {k: float(v) for k, v in (self.averages or {}).items()}
        return values

    def sort_key(self) -> tuple:
        """The ordering rule as one comparable value: higher wins."""
        return _sort_key(self, self.content())


@dataclass
class StoredResult(ResultUpdate):
    """A stored result as the ordering rule compares it: its `rank` and `order_at` are
    the stored columns (written with each applied delivery), not recomputed."""

    stored_rank: int = 0
    stored_order_at: datetime | None = None

    @property
    def rank(self) -> int:
        return self.stored_rank

    @property
    def order_at(self) -> datetime | None:
        return self.stored_order_at


def _isoformat_exact(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _text(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=_isoformat_exact, allow_nan=False)


def _sort_key(result: ResultUpdate, content: str) -> tuple:
    return result.rank, result.order_at or _NEVER, hashlib.sha256(content.encode()).hexdigest()


# Fields whose values are unequal only when their text is: text, floats, aware UTC
# datetimes, None, and averages (text keys, float values). `details` may hold any JSON
# value (1 == 1.0 == true in Python, not in JSON): only its text compares it.
_PLAIN_FIELDS = tuple(name for name in CONTENT_FIELDS if name != "details")


def decide(stored: ResultUpdate | None, update: ResultUpdate) -> str:
    """What the ordering rule does with `update` given the stored result (None: none
    stored yet; a StoredResult from the database): APPLIED, REPEAT (same content) or
    STALE (older than the stored one)."""
    if stored is None:
        return APPLIED
    mine, theirs = update._content_values(), stored._content_values()
    # The texts (json.dumps, a hash) only when the values cannot tell: the same values
    # but for details, or an order tie that the hash of the content breaks.
    texts = None
    if all(mine[name] == theirs[name] for name in _PLAIN_FIELDS):
        texts = _text(mine), _text(theirs)
        if texts[0] == texts[1]:
            return REPEAT
    ranked, stored_ranked = (update.rank, update.order_at or _NEVER), \
        (stored.rank, stored.order_at or _NEVER)
    if ranked != stored_ranked:
        return APPLIED if ranked > stored_ranked else STALE
    texts = texts or (_text(mine), _text(theirs))
    return APPLIED if _sort_key(update, texts[0]) > _sort_key(stored, texts[1]) else STALE

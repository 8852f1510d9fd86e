"""The results table's state (filters, search, sort, page), parsed from and written back
to the query string, so a view is shareable and the back button works.

Parsing never fails: a value that does not fit is dropped (the default applies), since
a hand-edited or stale URL should still show the dashboard, not an error.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping

from portal.core.jsonbody import INT_MAX
from portal.exams.models import ATTEMPT_STATES
from portal.proctoring.vocabulary import RESULT_STATUSES

NO_RESULT = "none"  # the status filter's value for "no proctoring result yet"
STATUS_CHOICES = (NO_RESULT,) + RESULT_STATUSES
STATE_CHOICES = ATTEMPT_STATES

# Sort keys a URL may name (the columns, and `updated`: the latest change first).
SORT_KEYS = ("student", "exam", "state", "status", "score", "duration", "started", "updated")
DEFAULT_SORT, DEFAULT_DIR = "started", "desc"
PER_PAGE_CHOICES = (10, 25, 50, 100)
DEFAULT_PER_PAGE = 25
MAX_SEARCH = 100


def _positive_int(value: Any) -> int | None:
    """A positive number a database can compare (64 bits), else None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= INT_MAX else None


@dataclass(frozen=True)
class TableFilters:
    exam: int | None = None
    status: str | None = None
    state: str | None = None
    flagged: bool = False
    needs_review: bool = False  # flagged and no staff decision yet
    q: str = ""
    sort: str = DEFAULT_SORT
    dir: str = DEFAULT_DIR
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "TableFilters":
        """Read the query string; anything unknown or malformed falls back to the default."""
        status = args.get("status")
        state = args.get("state")
        sort = args.get("sort")
        direction = args.get("dir")
        per_page = _positive_int(args.get("per_page"))
        return cls(
            exam=_positive_int(args.get("exam")),
            status=status if status in STATUS_CHOICES else None,
            state=state if state in STATE_CHOICES else None,
            flagged=args.get("flagged") in ("1", "on", "true", "yes"),
            needs_review=args.get("needs_review") in ("1", "on", "true", "yes"),
            q=(args.get("q") or "").strip()[:MAX_SEARCH],
            sort=sort if sort in SORT_KEYS else DEFAULT_SORT,
            dir=direction if direction in ("asc", "desc") else DEFAULT_DIR,
            page=_positive_int(args.get("page")) or 1,
            per_page=per_page if per_page in PER_PAGE_CHOICES else DEFAULT_PER_PAGE,
        )

    def to_args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for this state with `changes` applied; defaults are left
        out so URLs stay short. Changing any filter goes back to page 1."""
        if changes and "page" not in changes:
            changes["page"] = 1
        state = replace(self, **changes)
        defaults = asdict(TableFilters())
        args: dict[str, Any] = {}
        for key, value in asdict(state).items():
            if value == defaults[key]:
                continue
            args[key] = "1" if value is True else value
        return args

    def sorted_by(self, key: str) -> dict[str, Any]:
        """Arguments for a column header link: sort by `key`, flipping the direction when
        it is already the sort key (numbers and times start descending, words ascending)."""
        if key == self.sort:
            direction = "asc" if self.dir == "desc" else "desc"
        else:
            direction = "asc" if key in ("student", "exam", "state", "status") else "desc"
        return self.to_args(sort=key, dir=direction)

    @property
    def is_filtered(self) -> bool:
        return bool(self.exam or self.status or self.state or self.flagged or self.needs_review
                    or self.q)

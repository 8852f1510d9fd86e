"""Proctoring results: one per session `identifier`, changed only by the ordering rule
(ordering.py: `RANKS`, `ResultUpdate`, `decide`).

Every delivery (of any vendor, normalised to a `ResultUpdate`) is appended to the
delivery log and applied in the caller's transaction, so the log row and its effect
commit together or not at all: the attempt and the result are read first, and the
writes come last, each conditional on the row as read (else decided again under a
lock).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (Connection, Row, String, bindparam, cast, column, insert, select, table,
                        update)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.util import identity_key

from portal.db_types import UTCDateTime, utcnow
from portal.exams import services as exams
from portal.exams.models import OPEN_STATES, Attempt
from portal.extensions import db
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from portal.proctoring.ordering import (APPLIED, CONTENT_FIELDS, RANKS, REPEAT, STALE,
                                        ResultUpdate, StoredResult, decide)
from portal.proctoring.vocabulary import FINAL_STATUSES

UNMATCHED, INVALID = "unmatched", "invalid"
REFUSED = "refused"  # valid, but for another vendor's session: never applied
OUTCOMES = (APPLIED, REPEAT, STALE, UNMATCHED, INVALID, REFUSED)
OTHER_VENDOR = ("This identifier belongs to a session of another proctoring vendor; "
                "a delivery changes only its own vendor's sessions. Not applied.")

_INSERTS = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


@dataclass
class RawDelivery:
    """A delivery as received, for the log. `headers` holds the ones that matter, never
    the key or Authorization value."""

    vendor: str  # "supervisor" | "constructor"
    content_type: str | None
    headers: dict[str, str]
    body: str



def record_and_apply(raw: RawDelivery, update: ResultUpdate | None, problem: str | None = None,
                     *, identifier: str | None = None) -> str:
    """Append the delivery to the log and apply `update` to its result by the ordering
    rule, in the caller's transaction (never commits). A final status closes the attempt
    if it is still open.

    `update=None` records an invalid delivery, with `problem` saying why (and the
    `identifier` it named, if any, so the log can be searched by it).
    Returns the outcome: applied | repeat | stale | unmatched | invalid | refused
    ("unmatched": no attempt has this identifier; the result is kept and updated all
    the same. "refused": the attempt or result of this identifier belongs to another
    vendor than `raw.vendor`; nothing changes, the delivery is logged).
    Raises ValueError for an update with an unknown status; SQLAlchemyError on storage
    failure (the caller rolls back).

    A delivery is the portal's hottest write, so its SQL is Core statements built once,
    run on the session's connection, and every read and decision comes before the first
    write (on SQLite the write lock is held from the first write to the commit): one read
    of the attempt and the result together, then the result's write made conditional on
    the row being as read (`_write_as_read`; a repeat or stale delivery writes nothing to
    it, and on SQLite its log row's INSERT is what confirms the row), then the log row.
    When the row changed in between, or is linked to another attempt than the one read,
    the delivery is decided again on the result locked (`_locked_apply`). The ORM only to
    close an attempt.
    """
    db.session.flush()  # the Core statements below must see the caller's pending objects
    connection = db.session.connection()
    if update is None:
        _log(connection, raw, identifier, None, INVALID, problem or "invalid delivery")
        return INVALID
    if update.status is not None and update.status not in RANKS:
        raise ValueError(f"unknown result status {update.status!r}")
    seen = connection.execute(_SEEN, {"identifier": update.identifier}).one()
    attempt = seen if seen.id is not None else None
    if attempt is not None and attempt.vendor != raw.vendor:
        return _refuse(connection, raw, update, f"The attempt is proctored by {attempt.vendor}.")
    result = _Stored.of(seen, "r_") if seen.r_id is not None else None
    if result is not None and result.vendor != raw.vendor:  # a result's vendor never changes
        return _refuse(connection, raw, update, f"The stored result is {result.vendor}'s.")
    written = None
    if result is None or result.attempt_id in (None, attempt.id if attempt else None):
        written = _write_as_read(connection, attempt, result, update, raw.vendor)
    if written is not None and written.unconfirmed is not None:  # a repeat or stale one
        if _effects_due(raw, written) or _dialect(connection) not in _INSERT_LOG_AS_READ:
            written = written.confirmed(connection)
        else:  # the log row's INSERT confirms the row as read: one statement less
            outcome, detail = _apply_effects(raw, written)  # none due: the words only
            if _log(connection, raw, update.identifier, update.status, outcome, detail,
                    as_read=written.unconfirmed):
                return outcome
            written = None
    if written is None:  # not as read, or linked to another attempt than the one read
        result, created = _locked_result(connection, update.identifier, raw.vendor)
        if result.vendor != raw.vendor:
            return _refuse(connection, raw, update, f"The stored result is {result.vendor}'s.")
        written = _locked_apply(connection, attempt, result, created, update)
    outcome, detail = _apply_effects(raw, written)
    _log(connection, raw, update.identifier, update.status, outcome, detail)
    return outcome


def link_unmatched(attempt: Attempt) -> None:
    """Link a result that arrived before its attempt (same identifier) to `attempt`, and
    close the attempt if that result is final. In the caller's transaction."""
    result = db.session.scalar(
        select(ProctoringResult)
        .where(ProctoringResult.identifier == attempt.identifier,
               ProctoringResult.vendor == attempt.vendor,
               ProctoringResult.attempt_id.is_(None))
        .with_for_update())
    if result is None:
        return
    result.attempt_id = attempt.id
    db.session.flush()
    _note_vendor_news(attempt, result)
    _close_if_final(attempt, result)


# ---- helpers -------------------------------------------------------------------------

_DECISION_DETAIL = {
    APPLIED: "Applied.",
    REPEAT: "Same content as the stored result: nothing changed.",
    STALE: "Older than the stored result (ordering rule): not applied.",
}


def _refuse(connection: Connection, raw: RawDelivery, update: ResultUpdate, why: str) -> str:
    """Log a delivery for another vendor's session (REFUSED); it changes nothing."""
    _log(connection, raw, update.identifier, update.status, REFUSED, f"{why} {OTHER_VENDOR}")
    return REFUSED


@dataclass
class _Stored:
    """A result row as read: what the write needs besides the ordering rule's view."""

    id: int
    vendor: str
    attempt_id: int | None
    updated_at: datetime  # set by every write of a result: the version the write checks
    result: StoredResult

    @classmethod
    def of(cls, row: Row, prefix: str = "") -> _Stored:
        """From a row of the results table, its columns named `<prefix><column>`."""
        return cls(getattr(row, prefix + "id"), getattr(row, prefix + "vendor"),
                   getattr(row, prefix + "attempt_id"), getattr(row, prefix + "updated_at"),
                   _stored_update(row, prefix))


@dataclass
class _Written:
    """What a delivery did to its result: the attempt as it now is (None: none), the
    decision, the status and proctor now stored; for a repeat or stale delivery decided
    on the row as read and not locked yet, that row (`unconfirmed`, as `_AS_READ`'s
    parameters)."""

    attempt: Row | None
    decision: str
    status: str | None
    proctor: str | None
    unconfirmed: dict[str, Any] | None = None

    def confirmed(self, connection: Connection) -> _Written | None:
        """This, the row as read now locked; None if it is no longer as read."""
        if not _confirm_as_read(connection, self.unconfirmed):
            return None
        return _Written(self.attempt, self.decision, self.status, self.proctor)


def _effects_due(raw: RawDelivery, written: _Written) -> bool:
    """Whether `_apply_effects` would change the attempt (as read)."""
    attempt, status = written.attempt, written.status
    return attempt is not None and (
        (raw.vendor == attempt.vendor and _news_missing(attempt, status))
        or (status in FINAL_STATUSES and attempt.state in OPEN_STATES))


def _apply_effects(raw: RawDelivery, written: _Written) -> tuple[str, str]:
    """The delivery's effects on its attempt: the vendor's news (only its own vendor's is
    evidence), and a final status closes it if still open. Returns the outcome and the
    detail for the log."""
    attempt, status = written.attempt, written.status
    detail = _DECISION_DETAIL[written.decision]
    if attempt is None:
        return UNMATCHED, f"No attempt has this identifier (yet); result kept. {detail}"
    if raw.vendor == attempt.vendor and _news_missing(attempt, status):
        exams.note_vendor_news(attempt.id, status)
    if status in FINAL_STATUSES and attempt.state in OPEN_STATES:
        closing = db.session.get(Attempt, attempt.id)
        if exams.terminate(closing, close_reason(status, written.proctor)):
            detail += f" Closed attempt {attempt.id}."
    return written.decision, detail


def _write_as_read(connection: Connection, attempt: Row | None, result: _Stored | None,
                   update: ResultUpdate, vendor: str) -> _Written | None:
    """Apply `update` by the ordering rule to the result as read (None: none yet), linked
    to `attempt` (as read, of `vendor`; None: none read), in at most one statement: an
    INSERT only if the result is still missing, an UPDATE only if its `updated_at` is
    still the one read (every write of a result sets it, also `link_unmatched`'s). A
    repeat or stale delivery writes nothing: its `unconfirmed` row as read must be
    confirmed and locked, as the UPDATE would lock it, before anything else is written
    (`_Written.confirmed`, or the log row's INSERT), so that in the log's order each
    decision is the rule's against the result as it then was. Returns the attempt as it
    now is (a new result is linked to the identifier's attempt of `vendor` as the INSERT
    finds it, which may have appeared since the read) and what was decided; None when
    the row was not as read (nothing written: decide again under a lock)."""
    now = utcnow()
    if result is None:
        values = {"identifier": update.identifier, "vendor": vendor, "created_at": now,
                  "updated_at": now, **_applied_values(update)}
        if attempt is not None:
            values["attempt_id"] = attempt.id
            created = connection.execute(_CREATE_RESULT[_dialect(connection)], values).first()
        else:
            created = connection.execute(_CREATE_LINKED_RESULT[_dialect(connection)], {
                **values, "attempt_identifier": update.identifier,
                "attempt_vendor": vendor}).first()
            if created is not None and created.attempt_id is not None:  # it just appeared
                attempt = connection.execute(_ATTEMPT_BY_ID,
                                             {"attempt_id": created.attempt_id}).first()
        if created is None:
            return None
        return _Written(attempt, APPLIED, update.status, update.proctor)
    decision = decide(result.result, update)
    changes = _applied_values(update) if decision == APPLIED else {}
    if result.attempt_id is None and attempt is not None:
        changes["attempt_id"] = attempt.id
    as_read = {"result_id": result.id, "updated_as_read": result.updated_at}
    if not changes:
        return _Written(attempt, decision, result.result.status, result.result.proctor,
                        unconfirmed=as_read)
    changes["updated_at"] = now
    if connection.execute(_UPDATE_RESULT_AS_READ, {**as_read, **changes}).rowcount != 1:
        return None
    _expire_cached(ProctoringResult, result.id)
    if decision == APPLIED:
        return _Written(attempt, APPLIED, update.status, update.proctor)
    return _Written(attempt, decision, result.result.status, result.result.proctor)


def _locked_apply(connection: Connection, attempt: Row | None, result: _Stored, created: bool,
                  update: ResultUpdate) -> _Written:
    """Apply `update` by the ordering rule to `result`, locked by `_locked_result`, and
    link it to its attempt. Returns the attempt as it is now that the result is locked (it
    may have appeared, or been linked, since `attempt` was read), and what was decided."""
    decision = APPLIED if created else decide(result.result, update)
    if result.attempt_id is not None and (attempt is None or attempt.id != result.attempt_id):
        attempt = connection.execute(_ATTEMPT_BY_ID, {"attempt_id": result.attempt_id}).first()
    elif result.attempt_id is None and attempt is None:
        attempt = connection.execute(_ATTEMPT_BY_IDENTIFIER,
                                     {"identifier": update.identifier}).first()
    changes: dict[str, Any] = _applied_values(update) if decision == APPLIED else {}
    if attempt is not None and result.attempt_id is None:
        changes["attempt_id"] = attempt.id  # the attempt appeared since: link it now
    if changes:
        changes["updated_at"] = utcnow()
        connection.execute(_UPDATE_RESULT, {"result_id": result.id, **changes})
        _expire_cached(ProctoringResult, result.id)
    if decision == APPLIED:
        return _Written(attempt, APPLIED, update.status, update.proctor)
    return _Written(attempt, decision, result.result.status, result.result.proctor)


_results = ProctoringResult.__table__
_attempts = Attempt.__table__
_ATTEMPT_COLUMNS = (_attempts.c.id, _attempts.c.vendor, _attempts.c.state,
                    _attempts.c.vendor_first_delivery_at, _attempts.c.vendor_started_at)
_ATTEMPT_BY_IDENTIFIER = select(*_ATTEMPT_COLUMNS).where(
    _attempts.c.identifier == bindparam("identifier"))
_ATTEMPT_BY_ID = select(*_ATTEMPT_COLUMNS).where(_attempts.c.id == bindparam("attempt_id"))
# The attempt and the result of one identifier in one read, either or both missing (a
# one-row select of the identifier, joined outward to both).
_WANTED = select(cast(bindparam("identifier"), String(128)).label("identifier")).subquery()
_SEEN = (select(*_ATTEMPT_COLUMNS, *(column.label(f"r_{column.name}") for column in _results.c))
         .select_from(_WANTED
                      .outerjoin(_attempts, _attempts.c.identifier == _WANTED.c.identifier)
                      .outerjoin(_results, _results.c.identifier == _WANTED.c.identifier)))
_RESULT_LOCKED = select(_results).where(
    _results.c.identifier == bindparam("identifier")).with_for_update()
# RETURNING tells whether this statement created the row: the rowcount of an INSERT ... ON
# CONFLICT DO NOTHING is -1 on PostgreSQL (psycopg 3), whatever happened.
_CREATE_RESULT = {name: make(_results).on_conflict_do_nothing(index_elements=["identifier"])
                  .returning(_results.c.id) for name, make in _INSERTS.items()}
# A new result of no attempt read: linked to the identifier's attempt of its vendor as the
# INSERT finds it (the one `link_unmatched` would link it to), so an attempt created since
# the read is never missed (its own link ran before the result existed).
_CREATE_LINKED_RESULT = {
    name: make(_results).values(attempt_id=select(_attempts.c.id).where(
        _attempts.c.identifier == bindparam("attempt_identifier"),
        _attempts.c.vendor == bindparam("attempt_vendor")).scalar_subquery())
    .on_conflict_do_nothing(index_elements=["identifier"])
    .returning(_results.c.id, _results.c.attempt_id) for name, make in _INSERTS.items()}
# The SET clause is the parameters given (besides result_id): only what changes.
_UPDATE_RESULT = update(_results).where(_results.c.id == bindparam("result_id"))
_AS_READ = (_results.c.id == bindparam("result_id"),
            _results.c.updated_at == bindparam("updated_as_read"))
# Locks the result if it is still as read: a row lock on PostgreSQL; on SQLite a write
# of nothing (rank to itself: no page changes), as only a write takes its write lock.
# That UPDATE goes through a bare view of the table: the model's onupdate would set
# updated_at.
_bare_results = table(_results.name, column("id"), column("rank"),
                      column("updated_at", UTCDateTime()))
_CONFIRM_AS_READ = {
    "postgresql": select(_results.c.id).where(*_AS_READ).with_for_update(),
    "sqlite": update(_bare_results).where(
        _bare_results.c.id == bindparam("result_id"),
        _bare_results.c.updated_at == bindparam("updated_as_read"),
    ).values(rank=_bare_results.c.rank)}
_UPDATE_RESULT_AS_READ = update(_results).where(*_AS_READ)
_deliveries = WebhookDelivery.__table__
_INSERT_LOG = insert(_deliveries)
_LOG_COLUMNS = ("received_at", "vendor", "identifier", "status", "content_type", "headers",
                "body", "outcome", "detail")
# The log row only if the result is still as read: on SQLite the INSERT takes the write
# lock before its SELECT reads, so the row stays as read until the commit. (Not on
# PostgreSQL: the result would need a FOR UPDATE inside, and the selected parameters
# casts to the columns' types.)
_INSERT_LOG_AS_READ = {"sqlite": insert(_deliveries).from_select(_LOG_COLUMNS, select(
    *(bindparam(name, type_=_deliveries.c[name].type) for name in _LOG_COLUMNS))
    .where(select(_results.c.id).where(*_AS_READ).exists()))}


def _dialect(connection: Connection) -> str:
    dialect = connection.dialect.name
    if dialect not in _CREATE_RESULT:
        raise RuntimeError(f"no race-free upsert for the {dialect} database")
    return dialect


def _confirm_as_read(connection: Connection, as_read: dict[str, Any]) -> bool:
    """Whether the result is still as read (then locked until the end of the transaction)."""
    dialect = _dialect(connection)
    confirmed = connection.execute(_CONFIRM_AS_READ[dialect], as_read)
    return (confirmed.first() is not None) if dialect == "postgresql" else confirmed.rowcount == 1


def _locked_result(connection: Connection, identifier: str, vendor: str) -> tuple[_Stored, bool]:
    """The result row for `identifier`, created if missing, and locked until the end of
    the transaction (row lock on PostgreSQL; SQLite holds its one write lock since the
    INSERT). Returns (row, created): the unique constraint decides which of two
    concurrent first deliveries creates it, never a read-then-write."""
    now = utcnow()
    inserted = connection.execute(_CREATE_RESULT[_dialect(connection)], {
        "identifier": identifier, "vendor": vendor, "rank": 0, "averages": {}, "details": {},
        "created_at": now, "updated_at": now})
    created = inserted.first() is not None
    result = connection.execute(_RESULT_LOCKED, {"identifier": identifier}).one()
    return _Stored.of(result), created


def _stored_update(result: Row, prefix: str = "") -> StoredResult:
    """The ordering rule's view of a row of the results table, its columns named
    `<prefix><column>`."""
    def get(name: str) -> Any:
        return getattr(result, prefix + name)

    values = {name: get(name) for name in CONTENT_FIELDS}
    values["averages"] = values["averages"] or None
    values["details"] = values["details"] or {}
    return StoredResult(identifier=get("identifier"), **values,
                        stored_rank=get("rank"), stored_order_at=get("order_at"))


def _applied_values(update: ResultUpdate) -> dict[str, Any]:
    """Every stored field of an applied delivery (each one carries the whole state)."""
    values = {name: getattr(update, name) for name in CONTENT_FIELDS}
    values["averages"] = {k: float(v) for k, v in (update.averages or {}).items()}
    values["rank"] = update.rank
    values["order_at"] = update.order_at
    return values


def _news_missing(attempt: Row, status: str | None) -> bool:
    """Would this delivery add evidence to the attempt (as read)? The UPDATE itself is
    conditional; this only spares the statement when both times are known already."""
    return attempt.vendor_first_delivery_at is None or (
        attempt.vendor_started_at is None and status in exams.SESSION_RAN_STATUSES)


def _expire_cached(model: type, key: int) -> None:
    """A row changed by a Core statement: an object of it the session already holds
    reloads on its next use instead of showing the old values."""
    cached = db.session.identity_map.get(identity_key(model, key))
    if cached is not None:
        db.session.expire(cached)


def _note_vendor_news(attempt: Attempt, result: ProctoringResult) -> None:
    """Evidence from the proctoring server, on the attempt: only from the attempt's own
    vendor (another vendor's delivery proves nothing about this session)."""
    if result.vendor == attempt.vendor:
        exams.record_vendor_news(attempt, result.status)


def _close_if_final(attempt: Attempt, result: ProctoringResult) -> bool:
    """A final status closes an open attempt (terminated, saved answers graded), as the
    page's stop event does, so blocking the page's script keeps nothing open."""
    if result.status not in FINAL_STATUSES or not attempt.is_open:
        return False
    return exams.terminate(attempt, close_reason(result.status, result.proctor))


def close_reason(status: str, proctor: str | None) -> str:
    """Why a result closed an attempt, in words for the dashboard (at most 200 chars)."""
    by = f" by {proctor[:60]}" if proctor else ""
    return {
        "skipped": "The proctoring server reports the session skipped (not started before "
                   "the deadline).",
        "stopped": f"The proctoring server reports the session stopped{by}.",
        "accepted": f"The proctoring session ended and was accepted{by}.",
        "rejected": f"The proctoring session ended and was rejected{by}.",
    }[status]


def _log(connection: Connection, raw: RawDelivery, identifier: str | None, status: str | None,
         outcome: str, detail: str, *, as_read: dict[str, Any] | None = None) -> bool:
    """Append the delivery's log row. With `as_read` (`_AS_READ`'s parameters; SQLite
    only), only if the result is still as read, which its write lock then keeps: returns
    whether the row was appended."""
    values = {
        "received_at": utcnow(), "vendor": raw.vendor,
        # from an invalid body it may hold NUL, which PostgreSQL text cannot store
        "identifier": identifier.replace("\x00", "\ufffd")[:128] if identifier else None,
        "status": status if status in RANKS else None,
        "content_type": raw.content_type[:200] if raw.content_type else None,
        "headers": raw.headers, "body": raw.body, "outcome": outcome, "detail": detail}
    if as_read is None:
        connection.execute(_INSERT_LOG, values)
        return True
    appended = connection.execute(_INSERT_LOG_AS_READ[_dialect(connection)], {**values, **as_read})
    return appended.rowcount == 1

"""The transaction boundary of every HTTP request: one unit of work, committed once.

- A writing request (POST, PUT, PATCH, DELETE) commits once, after its view, when the
  response is a success (status < 400), and rolls back otherwise. Views, services and
  signal receivers only add to the session and flush; none of them commits.
- What must be kept although the response is an error (what the page and the vendor
  said is evidence, an attempt closed on the way) is kept by saying so: `keep()`.
- When the commit itself fails, the client is told, never answered 200 for something
  not stored: 503 with Retry-After (database unreachable or locked: send it again), 409
  for a conflict with what was stored meanwhile. A view may answer in its own words
  (`on_commit_failure`, e.g. the webhook's log line and answer).
- What must happen only once the work is stored (a log line a delivery's sender or the
  bench counts, anything sent out) is registered with `after_commit`.
- A safe request (GET, HEAD, OPTIONS) never commits, and under TESTING one that writes
  (a flush, an INSERT/UPDATE/DELETE, a commit, a session left dirty) fails loudly
  (`SafeRequestWrote`): what a page shows is derived, never stored by looking.

CLI commands and the outbox worker are not requests: they commit their own units of
work (one commit each). The cost per request is one after_request call and a method
check; nothing is built unless a view asks.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import Flask, Response, abort, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from portal.errors import error_response
from portal.extensions import db

log = logging.getLogger(__name__)

WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRY_AFTER_SECONDS = "5"

_KEEP = "_uow_keep"
_AFTER_COMMIT = "_uow_after_commit"
_ON_FAILURE = "_uow_on_commit_failure"
_GUARDED = "_uow_safe_request"


class SafeRequestWrote(RuntimeError):
    """A GET/HEAD/OPTIONS request wrote to the database (raised under TESTING only)."""


def _scope():
    """Where this unit's flags live: the request (never shared with the next one: tests
    keep one app context, and so one `g`, across many requests), or `g` outside one."""
    return request._get_current_object() if has_request_context() else g._get_current_object()


def _get(name: str):
    return getattr(_scope(), name, None)


def _set(name: str, value) -> None:
    setattr(_scope(), name, value)


def keep() -> None:
    """Commit this request's work even if its response is an error (4xx/5xx): what the
    error says happened must be stored (e.g. what the vendor answered, an attempt closed
    on the way). Only for writing requests; a safe request never commits."""
    _set(_KEEP, True)


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback()` once this request's work is committed (never if it is rolled
    back or the commit fails). Callbacks run in the order given; one that raises is
    logged and the others still run (the work is stored: the answer stands)."""
    callbacks = _get(_AFTER_COMMIT)
    if callbacks is None:
        callbacks = []
        _set(_AFTER_COMMIT, callbacks)
    callbacks.append(callback)


def on_commit_failure(handler: Callable[[SQLAlchemyError], Response]) -> None:
    """Answer with `handler(error)` (a response; it must be an error status) instead of
    the default 503/409 when this request's commit fails. The session is rolled back
    before the handler runs."""
    _set(_ON_FAILURE, handler)


def checkpoint() -> None:
    """Commit the work so far now, as a unit of its own, for a step that must be stored
    before a slow one runs without the database's write lock (the login's counted try
    before its password hash: auth/services.py). The request's remaining work is its
    next unit, committed or rolled back as usual. Callbacks registered so far run now.
    A failed commit aborts the request with the not-stored answer (503 or 409)."""
    session = db.session
    try:
        session.commit()
    except SQLAlchemyError as error:
        session.rollback()
        log.warning("%s not stored (%s): the checkpoint failed", _where(),
                    type(error).__name__)
        abort(_as_response(not_stored_response(error)))
    _run_after_commit()


def not_stored_response(error: SQLAlchemyError):
    """The default answer to a failed commit: 409 for a conflict with what was stored
    meanwhile (an integrity error), else 503 with Retry-After (unreachable, locked)."""
    if isinstance(error, IntegrityError):
        return error_response(409, "This conflicts with a change stored meanwhile; "
                                   "reload the page and try again.")
    response = current_app.make_response(error_response(
        503, "The change could not be stored; nothing was saved. Try again shortly."))
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def install(app: Flask) -> None:
    """Make every request of `app` one unit of work (call once, in the app factory, after
    the hooks that decorate responses were registered: Flask runs `after_request`
    functions last-registered first, so a failed commit's answer is decorated too)."""
    app.after_request(_finish)
    if app.testing:
        _install_safe_request_guard(app)


def _finish(response: Response) -> Response:
    """The end of a request's unit of work (an `after_request` hook). A safe request is
    left alone: its session is discarded (rolled back) when the app context ends."""
    if request.method not in WRITING_METHODS:
        return response
    session = db.session
    if response.status_code >= 400 and not _get(_KEEP):
        session.rollback()
        return response
    try:
        session.commit()
    except SQLAlchemyError as error:
        session.rollback()
        log.warning("%s not stored (%s): the commit failed", _where(), type(error).__name__)
        handler = _get(_ON_FAILURE)
        answer = handler(error) if handler else not_stored_response(error)
        return _as_response(answer)
    _run_after_commit()
    return response


def _run_after_commit() -> None:
    callbacks = _get(_AFTER_COMMIT) or ()
    _set(_AFTER_COMMIT, None)
    for callback in callbacks:
        try:
            callback()
        except Exception:  # the work is stored: the client's answer must say so
            log.exception("after-commit callback of %s failed", _where())


def _where() -> str:
    return f"{request.method} {request.path}" if has_request_context() else "(no request)"


def _as_response(answer) -> Response:
    return current_app.make_response(answer)


# ---- under TESTING: a safe request that writes fails loudly ----------------------------

def _install_safe_request_guard(app: Flask) -> None:
    """A GET/HEAD/OPTIONS request may read only. Checked at every flush, every
    INSERT/UPDATE/DELETE statement, every commit, and at the end of the request (a
    session left dirty). Tests share the request's session: what a test left pending
    before the request is flushed first, as the test's own work, not the request's."""
    def arm() -> None:
        if request.method in WRITING_METHODS:
            return
        session = db.session
        if session.new or session.dirty or session.deleted:
            session.flush()
        _set(_GUARDED, True)

    # First of the app's before_request hooks: theirs are guarded too.
    app.before_request_funcs.setdefault(None, []).insert(0, arm)

    @app.after_request
    def check_clean(response: Response) -> Response:
        if _get(_GUARDED):
            session = db.session
            if session.new or session.dirty or session.deleted:
                raise SafeRequestWrote(f"{request.method} {request.path} left the session "
                                       "dirty: a safe request must not change anything")
        return response

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _refuse_writing_statement)
    # Session events are per class (Flask-SQLAlchemy's, shared by every app): once.
    session_class = db.session.session_factory.class_
    if not event.contains(session_class, "before_flush", _refuse_flush):
        event.listen(session_class, "before_flush", _refuse_flush)
        event.listen(session_class, "before_commit", _refuse_commit)


def _guarded() -> bool:
    return has_request_context() and bool(getattr(request, _GUARDED, False))


def _refuse_flush(session, flush_context, instances) -> None:
    if _guarded():
        raise SafeRequestWrote(f"{request.method} {request.path} flushed changes: "
                               "a safe request must not write")


def _refuse_commit(session) -> None:
    if _guarded():
        raise SafeRequestWrote(f"{request.method} {request.path} committed: "
                               "a safe request must not commit")


def _refuse_writing_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    if _guarded() and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
        raise SafeRequestWrote(f"{request.method} {request.path} wrote: {statement[:120]}")

"""Result deliveries from proctoring servers (machine endpoints, CSRF-exempt).

See docs/webhooks.md: authenticated by key, validated, recorded raw, applied by the
ordering rule, and answered 200 only once the record and its effect are committed.
"""
from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from portal.core import unit_of_work
from portal.errors import error_response
from portal.extensions import csrf, db
from portal.proctoring import deliveries, ordering, results
from portal.proctoring.providers.supervisor import VENDOR, schemas

bp = Blueprint("webhooks", __name__)
# The logger's name predates this module's move into the provider: log routing uses it.
log = logging.getLogger("portal.proctoring.webhooks")


@bp.post("/api/proctoring/webhook")
@csrf.exempt  # a machine endpoint: authenticated by key, not cookies
def supervisor_webhook():
    """Supervisor results (contract 1.5): 200 once stored, 401 without a valid key,
    400/413/415 for bodies that cannot be applied and 409 for another vendor's session
    (recorded all the same), 503 when storage fails, so that the sender retries."""
    started = time.monotonic()
    config = current_app.config
    header, keys = config["PROCTOR_WEBHOOK_HEADER"], config["PROCTOR_WEBHOOK_KEYS"]
    given = request.headers.get(header)
    number = deliveries.key_number(given, keys)
    if number is None:
        _log_line(None, None, "unauthenticated", 401, started)
        return error_response(401, f"{'Wrong' if given else 'Missing'} {header} header.")

    received = deliveries.receive(request, VENDOR, f"key {number} of {len(keys)}",
                                  schemas.supervisor_update)
    update = received.update

    def not_stored(error: SQLAlchemyError):
        _log_line(update, received, f"not-stored:{type(error).__name__}", 503, started)
        return deliveries.storage_failed_response()

    try:
        outcome = results.record_and_apply(received.raw, update, received.problem,
                                           identifier=received.identifier)
    except SQLAlchemyError as error:  # a flush failed: nothing of it is kept
        db.session.rollback()
        return not_stored(error)
    # The request's unit of work commits (core/unit_of_work.py): the delivery's line is
    # written only once it is stored (the bench counts the http=200 lines), or the
    # answer is 503 so that the sender retries.
    unit_of_work.on_commit_failure(not_stored)
    if outcome == results.REFUSED:
        unit_of_work.keep()  # recorded all the same
        unit_of_work.after_commit(lambda: _log_line(update, received, outcome, 409, started))
        return deliveries.other_vendor_response()
    unit_of_work.after_commit(
        lambda: _log_line(update, received, outcome, received.status, started))
    if update is None:
        unit_of_work.keep()  # the raw body is recorded although it cannot be applied
        return error_response(received.status, received.message, outcome=outcome,
                              problems=[p.as_dict() for p in received.problems])
    return jsonify(outcome=outcome, identifier=update.identifier, status=update.status)


def _log_line(update: ordering.ResultUpdate | None, received: deliveries.Received | None,
              outcome: str, http_status: int, started: float) -> None:
    """One line per delivery. Never the key; untrusted text only quoted (repr)."""
    if update is not None:
        identifier, status = update.identifier, update.status
    else:
        identifier = repr(received.identifier[:80]) if received and received.identifier else None
        status = None
    ms = (time.monotonic() - started) * 1000
    level = logging.INFO if http_status == 200 else logging.WARNING
    log.log(level, "webhook delivery identifier=%s status=%s outcome=%s http=%d ms=%.0f",
            identifier or "-", status or "-", outcome, http_status, ms)

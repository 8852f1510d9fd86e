"""Receiving a results delivery over HTTP: the key check, the raw record, the body's fields.

Nothing here touches the database; `results.record_and_apply` stores what `receive`
returns, whether the delivery was valid or not.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from portal.core import jsonbody
from portal.errors import error_response
from portal.proctoring import results
from portal.proctoring.results import RawDelivery
from portal.proctoring.ordering import ResultUpdate
from portal.proctoring.schemas import InvalidDelivery, Problem

JSON_TYPES = ("application/json",)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# Recorded with each delivery: enough to trace the sender, never a credential.
RECORDED_HEADERS = ("Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For",
                    "X-Real-Ip", "X-Request-Id")
# ... by their WSGI environ keys, read there at once (werkzeug's headers view works each
# name out again on every lookup).
_RECORDED_ENVIRON = tuple(
    (name, ("" if name in ("Content-Type", "Content-Length") else "HTTP_")
     + name.upper().replace("-", "_")) for name in RECORDED_HEADERS)


@dataclass
class Received:
    """One authenticated delivery: its raw record and either the update or why not.

    `status` is the HTTP status to answer once stored: 200, or 400 (invalid fields),
    413 (too large) or 415 (content type)."""

    raw: RawDelivery
    update: ResultUpdate | None
    status: int = 200
    message: str | None = None
    problems: list[Problem] = field(default_factory=list)
    identifier: str | None = None  # the one the body named, even when invalid

    @property
    def problem(self) -> str | None:
        """The reasons in one line, for the delivery log."""
        if self.status == 200:
            return None
        listed = "; ".join(str(p) for p in self.problems)
        line = f"{self.message} {listed}".strip() if self.message else listed
        # problems name the sender's keys, which may hold NUL: PostgreSQL text cannot
        return line.replace("\x00", "\ufffd")


def key_number(given: str | None, keys: list[str]) -> int | None:
    """Which configured key (1-based) `given` is, or None. Compares against every key in
    constant time, so neither timing nor the order of keys reveals anything."""
    if not given:
        return None
    candidate = given.encode("utf-8", "surrogateescape")
    matched = None
    for number, key in enumerate(keys, start=1):
        if hmac.compare_digest(candidate, key.encode("utf-8")) and matched is None:
            matched = number
    return matched


def receive(request: Request, vendor: str, key_used: str,
            to_update: Callable[[dict[str, Any], bool], ResultUpdate]) -> Received:
    """Read and validate the body of an authenticated delivery; never raises for bad
    input (it is reported in the returned `Received`, to be recorded)."""
    environ = request.environ
    headers = {name: environ[key][:500] for name, key in _RECORDED_ENVIRON if key in environ}
    headers["Remote-Addr"] = request.remote_addr or ""
    headers["Key-Used"] = key_used
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raw = RawDelivery(vendor, request.content_type, headers, body="")
        limit = (request.max_content_length or 0) / (1024 * 1024)
        return Received(raw, None, 413, f"The body is over {limit:g} MiB; not stored.")
    # PostgreSQL text cannot hold NUL; the record keeps everything else as sent.
    body = data.decode("utf-8", "replace").replace("\x00", "\ufffd")
    raw = RawDelivery(vendor, request.content_type, headers, body)
    if request.mimetype in JSON_TYPES:
        parse, from_form = _json_fields, False
    elif request.mimetype in FORM_TYPES:
        parse, from_form = _form_fields, True
    else:
        return Received(raw, None, 415, f"Unsupported content type {request.mimetype or 'none'!r}: "
                        "send application/json, multipart/form-data or a urlencoded form.")
    try:
        fields = parse(request, data)
    except InvalidDelivery as error:
        return Received(raw, None, 400, "The body could not be read.", error.problems)
    except RequestEntityTooLarge:  # more form parts than werkzeug parses (max_form_parts)
        return Received(raw, None, 413, "The form has too many fields; not applied.")
    try:
        return Received(raw, to_update(fields, from_form), identifier=_named(fields))
    except InvalidDelivery as error:
        return Received(raw, None, 400, "The delivery has invalid fields.", error.problems,
                        identifier=_named(fields))


def _named(fields: dict[str, Any]) -> str | None:
    named = fields.get("identifier", fields.get("id"))
    return named if isinstance(named, str) else None


def _json_fields(request: Request, data: bytes) -> dict[str, Any]:
    try:
        fields = jsonbody.loads(data)  # depth, NaN, out-of-range numbers, lone surrogates
    except jsonbody.BodyError as error:
        raise InvalidDelivery([Problem("", str(error))]) from None
    if not isinstance(fields, dict):
        raise InvalidDelivery([Problem("", "The body must be a JSON object.")])
    return fields


def _form_fields(request: Request, data: bytes) -> dict[str, Any]:
    """Form fields by name, text values ("" is null); `averages[<metric>]` fields
    become the `averages` object."""
    problems = [Problem(name or "", "file parts are not accepted") for name in request.files]
    fields: dict[str, Any] = {}
    averages: dict[str, str | None] = {}
    for name in request.form:
        if not name:  # a multipart part may have an empty name, which werkzeug reads as None
            problems.append(Problem("", "every form field needs a name"))
            continue
        values = request.form.getlist(name)
        if len(values) > 1:
            problems.append(Problem(name, "given more than once"))
        value = values[-1] if values[-1] != "" else None
        if name.startswith("averages[") and name.endswith("]"):
            averages[name[len("averages["):-1]] = value
        else:
            fields[name] = value
    if averages:
        if fields.get("averages") is not None:
            problems.append(Problem("averages", "give it as JSON or as averages[<metric>] "
                                                "fields, not both"))
        fields["averages"] = averages
    if problems:
        raise InvalidDelivery(problems)
    return fields


def other_vendor_response():
    """409: the identifier is another vendor's session (logged, not applied); sending it
    again changes nothing, so the sender should stop."""
    return error_response(409, results.OTHER_VENDOR, outcome=results.REFUSED, problems=[
        {"field": "identifier", "message": "is a session of another proctoring vendor"}])


def storage_failed_response():
    """503 with Retry-After: the sender keeps the delivery and sends it again."""
    response, status = error_response(503, "The delivery could not be stored; send it again later.")
    response.headers["Retry-After"] = "30"
    return response, status

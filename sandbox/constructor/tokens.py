"""Constructor tokens: the start form's token and the ``Authorization: JWT`` of server calls.

Both are HS256 with ``SANDBOX_CONSTRUCTOR_SECRET`` and must carry ``exp`` (5 s
leeway). The start token must also carry the contract's required fields (section 2).
"""
from __future__ import annotations

from typing import Any

from ..jwtcheck import TokenRejected, decode_hs256
from ..timeutil import parse_iso

REQUIRED = ("userId", "accountId", "accountName", "examId", "examName", "duration",
            "schedule", "proctoring", "startDate", "endDate", "sessionId")
PROCTORING = ("online", "offline", "auto")


class ConstructorTokenError(Exception):
    """The token is not acceptable: ``status`` 401 (signature, expiry) or 400 (fields)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def decode(token: str, secret: str) -> dict[str, Any]:
    """Verify signature, algorithm and ``exp``; return the payload or raise ConstructorTokenError."""
    try:
        return decode_hs256(token, secret)
    except TokenRejected as exc:
        raise ConstructorTokenError(str(exc)) from exc


def verify_start(token: str, secret: str) -> dict[str, Any]:
    """Verify a start token and its fields; raises ConstructorTokenError (401 or 400)."""
    payload = decode(token, secret)
    for name in REQUIRED:
        if payload.get(name) in (None, ""):
            raise ConstructorTokenError(f"missing required field: {name}", 400)
    duration = payload["duration"]
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration <= 0:
        raise ConstructorTokenError("duration must be a positive number of minutes", 400)
    if not isinstance(payload["schedule"], bool):
        raise ConstructorTokenError("schedule must be a boolean", 400)
    if payload["proctoring"] not in PROCTORING:
        raise ConstructorTokenError("proctoring must be online, offline or auto", 400)
    for name in ("startDate", "endDate"):
        try:
            parse_iso(str(payload[name]))
        except ValueError as exc:
            raise ConstructorTokenError(f"{name} is not ISO-8601 with an offset or Z", 400) from exc
    for name in ("sessionUrl", "sessionFinishUrl"):
        value = payload.get(name)
        if value and not str(value).startswith(("http://", "https://")):
            raise ConstructorTokenError(f"{name} must be an http(s) URL", 400)
    payload["sessionId"] = str(payload["sessionId"])
    payload["accountId"] = str(payload["accountId"])
    return payload


def server_token(header: str, secret: str) -> dict[str, Any]:
    """Verify the ``Authorization: JWT <token>`` header of a server call."""
    scheme, _, token = header.partition(" ")
    if scheme != "JWT":
        raise ConstructorTokenError("Authorization header must be 'JWT <token>'")
    return decode(token.strip(), secret)

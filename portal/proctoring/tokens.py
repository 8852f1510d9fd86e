"""Supervisor SDK tokens: JWT (RFC 7519), HS256, `typ: JWT`, compact JSON, key order kept.

The one place that signs proctoring tokens. PyJWT's own encoder would sort nothing but
adds spaces-free JSON too; we build the three parts ourselves only to guarantee the
byte-exact form of the contract's golden token (key order as given)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt

HEADER = {"alg": "HS256", "typ": "JWT"}
ALPHANUMERIC = re.compile(r"^[A-Za-z0-9]+$")
USERNAME = re.compile(r"^[A-Za-z0-9_-]+$")
REQUIRED = ("exp", "username", "identifier", "template")


class TokenError(ValueError):
    """A payload that breaks a field rule of the contract; the message names the field."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(payload: dict[str, Any], secret: str) -> str:
    """HS256-sign `payload` exactly as given (key order kept, compact JSON)."""
    signing_input = _b64(_compact(HEADER)) + "." + _b64(_compact(payload))
    signature = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256)
    return signing_input + "." + _b64(signature.digest())


def decode(token: str, secret: str, leeway: int = 5) -> dict[str, Any]:
    """Verify (HS256 only, `exp` required) and return the payload.

    Raises jwt.InvalidTokenError (or a subclass) when the token is not valid."""
    return jwt.decode(token, secret, algorithms=["HS256"], leeway=leeway,
                      options={"require": ["exp"]})


def validate_student_payload(payload: dict[str, Any]) -> None:
    """Raise TokenError unless the payload follows the contract's field rules."""
    for field in REQUIRED:
        if payload.get(field) in (None, ""):
            raise TokenError(f"missing required field: {field}")
    if not USERNAME.match(str(payload["username"])):
        raise TokenError("username must be A-Za-z0-9 (plus _ and -)")
    for field in ("identifier", "template"):
        if not ALPHANUMERIC.match(str(payload[field])):
            raise TokenError(f"{field} must be A-Za-z0-9")
    if payload.get("role", "student") not in ("student", "proctor"):
        raise TokenError("role must be student or proctor")


def expiry(ttl_seconds: int, now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    return int((now + timedelta(seconds=ttl_seconds)).timestamp())

"""Verify Supervisor tokens the way a strict real server does (contract 1.3).

HS256 only, signed with ``SANDBOX_JWT_SECRET``, ``exp`` required (5 s leeway), the
required fields present and within their character rules. Every failure raises
TokenRejected whose message names the one problem found.
"""
from __future__ import annotations

import re
from typing import Any


from ..jwtcheck import TokenRejected, decode_hs256 as decode_token  # noqa: F401 (re-exported)
from ..timeutil import parse_iso

USERNAME_RE = re.compile(r"[A-Za-z0-9_-]+")
ID_RE = re.compile(r"[A-Za-z0-9]+")
ROLES = ("student", "proctor")


def validate_claims(payload: dict[str, Any]) -> dict[str, Any]:
    """Apply the field rules of contract 1.3; return a normalised copy.

    The copy has ``role`` set, ``deadline`` as UNIX seconds (or None) and ``timeout``
    as minutes (or None). Raises TokenRejected naming the first violation.
    """
    claims = dict(payload)
    role = claims.get("role", "student")
    if role not in ROLES:
        raise TokenRejected("role must be student or proctor")
    claims["role"] = role
    required = ["username"] + (["identifier", "template"] if role == "student" else [])
    for name in required:
        if claims.get(name) in (None, ""):
            raise TokenRejected(f"missing required field: {name}")
    _check_chars(claims, "username", USERNAME_RE, "A-Za-z0-9_-")
    for name in ("identifier", "template"):
        if claims.get(name) not in (None, ""):
            _check_chars(claims, name, ID_RE, "A-Za-z0-9")
    for name in ("nickname", "subject", "referrer", "url", "api", "group", "lang"):
        if name in claims and claims[name] is not None and not isinstance(claims[name], str):
            raise TokenRejected(f"{name} must be a string")
    for name in ("api", "url"):
        if claims.get(name) and not str(claims[name]).startswith(("http://", "https://")):
            raise TokenRejected(f"{name} must be an http(s) URL")
    timeout = claims.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or timeout <= 0):
        raise TokenRejected("timeout must be a positive number of minutes")
    deadline = claims.get("deadline")
    if deadline is not None:
        try:
            claims["deadline"] = parse_iso(str(deadline))
        except ValueError as exc:
            raise TokenRejected("deadline is not an ISO-8601 UTC date") from exc
    return claims


def verify(token: str, secret: str) -> dict[str, Any]:
    """Decode and validate a token; the one entry point for views."""
    return validate_claims(decode_token(token, secret))


def _check_chars(claims: dict[str, Any], name: str, pattern: re.Pattern, allowed: str) -> None:
    value = claims.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise TokenRejected(f"{name} has characters outside {allowed}")

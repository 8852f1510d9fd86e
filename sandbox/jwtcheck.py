"""HS256 verification shared by both stand-in vendors: as strict as a real server.

HS256 only (the header is checked before anything else), ``exp`` required with a 5 s
leeway; every failure raises TokenRejected whose message names the one problem found.
"""
from __future__ import annotations

from typing import Any

import jwt

LEEWAY_SECONDS = 5


class TokenRejected(Exception):
    """The token is not acceptable; ``str(exc)`` names the problem for the 401 body."""


def decode_hs256(token: str, secret: str) -> dict[str, Any]:
    """Check signature, algorithm and expiry; return the payload or raise TokenRejected."""
    if not token:
        raise TokenRejected("missing token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise TokenRejected("malformed token") from exc
    if header.get("alg") != "HS256":
        raise TokenRejected(f"algorithm {header.get('alg')!r} not allowed, HS256 only")
    try:
        payload = jwt.decode(
            token, secret, algorithms=["HS256"], leeway=LEEWAY_SECONDS,
            options={"require": ["exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenRejected("token expired") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRejected(f"missing required field: {exc.claim}") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenRejected("signature verification failed") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise TokenRejected("algorithm not allowed, HS256 only") from exc
    except jwt.ImmatureSignatureError as exc:
        raise TokenRejected("token not yet valid (nbf/iat in the future)") from exc
    except jwt.DecodeError as exc:
        raise TokenRejected(f"malformed token: {exc}") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenRejected(f"invalid token: {exc}") from exc
    if not isinstance(payload, dict):
        raise TokenRejected("token payload is not an object")
    return payload

"""Fault injection for finish calls: ``503:2`` (next 2 calls answer 503), ``drop:1``
(close the connection without an answer), ``delay:3.5:1`` (answer after 3.5 s, once).

Several faults may be chained with commas; they are used up in order. The queue lives
in the store, seeded from ``SANDBOX_FINISH_FAULTS`` and replaced by the console.
"""
from __future__ import annotations

import socket
from typing import Any

from flask import Flask, request

from ..store import Store

SETTING = "finish_faults"


class FaultSpecError(ValueError):
    """The fault specification cannot be parsed."""


def parse(spec: str) -> list[dict[str, Any]]:
    """Turn ``"503:2,delay:1.5:1"`` into ``[{"kind": "503", "count": 2}, ...]``; raises FaultSpecError."""
    faults: list[dict[str, Any]] = []
    for part in (p.strip() for p in (spec or "").split(",")):
        if not part:
            continue
        bits = part.split(":")
        try:
            if bits[0] == "delay":
                if len(bits) not in (2, 3):
                    raise ValueError
                seconds = float(bits[1])
                count = int(bits[2]) if len(bits) == 3 else 1
                faults.append({"kind": "delay", "seconds": seconds, "count": count})
            elif bits[0] == "drop" or (bits[0].isdigit() and 500 <= int(bits[0]) <= 599):
                if len(bits) not in (1, 2):
                    raise ValueError
                faults.append({"kind": bits[0], "count": int(bits[1]) if len(bits) == 2 else 1})
            else:
                raise ValueError
        except ValueError as exc:
            raise FaultSpecError(
                f"bad fault {part!r}: use 503:N (any 5xx), drop:N or delay:SECONDS:N") from exc
        if faults[-1]["count"] < 0:
            raise FaultSpecError(f"bad fault {part!r}: negative count")
    return [f for f in faults if f["count"] > 0]


def current(app: Flask) -> list[dict[str, Any]]:
    """The pending faults (seeded from config on first use)."""
    store: Store = app.extensions["sandbox_store"]
    faults = store.get_setting(SETTING)
    if faults is None:
        faults = parse(app.config["SANDBOX_FINISH_FAULTS"])
        store.set_setting(SETTING, faults)
    return faults


def replace(app: Flask, spec: str) -> list[dict[str, Any]]:
    """Replace the pending faults with ``spec`` (empty clears); raises FaultSpecError."""
    faults = parse(spec)
    app.extensions["sandbox_store"].set_setting(SETTING, faults)
    return faults


def take(app: Flask) -> dict[str, Any] | None:
    """Use up one fault for this call and return it, or None when there is none."""
    store: Store = app.extensions["sandbox_store"]
    with store.lock:  # read-modify-write of one small setting; the lock makes it atomic
        faults = current(app)
        if not faults:
            return None
        fault = dict(faults[0])
        faults[0]["count"] -= 1
        store.set_setting(SETTING, [f for f in faults if f["count"] > 0])
    return fault


def drop_connection() -> bool:
    """Close this request's client socket so the caller sees a dropped connection.

    Works under werkzeug's server and gunicorn (both expose the socket in the WSGI
    environ); returns False where there is no socket (Flask's test client).
    """
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if sock is None:
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone: the effect we wanted
    return True

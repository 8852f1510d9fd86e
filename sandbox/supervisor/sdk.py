"""Serves the SDK script at the path the real servers use: one script, as theirs is.

The stand-in is the vendored socket.io client followed by ``static/supervisor.js``;
``SANDBOX_SDK_FILE`` serves another file instead (a vendor's own build, never
committed to this repository).
"""
from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, request

bp = Blueprint("sdk", __name__)

STAND_IN_PARTS = (os.path.join("vendor", "socket.io.min.js"), "supervisor.js")


def sdk_script() -> bytes:
    """The bytes of the SDK script this sandbox serves.

    Raises FileNotFoundError naming the missing file (a broken checkout; a missing
    ``SANDBOX_SDK_FILE`` is refused at start).
    """
    configured = current_app.config["SANDBOX_SDK_FILE"]
    paths = [configured] if configured else [os.path.join(current_app.static_folder, part)
                                             for part in STAND_IN_PARTS]
    chunks = []
    for path in paths:
        with open(path, "rb") as handle:
            chunks.append(handle.read())
    # A newline and a semicolon keep the two files two statements whatever their last line.
    return b"\n;\n".join(chunks)


@bp.get("/sdk/supervisor.js")
def supervisor_js() -> Response:
    """The SDK, always revalidated so the page never runs a stale copy against a newer server."""
    response = Response(sdk_script(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)

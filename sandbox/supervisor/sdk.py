"""Serves the stand-in SDK script at the path the real servers use."""
from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, request

bp = Blueprint("sdk", __name__)


@bp.get("/sdk/supervisor.js")
def supervisor_js() -> Response:
    """The SDK, always revalidated so the page never runs a stale copy against a newer server."""
    with open(os.path.join(current_app.static_folder, "supervisor.js"), "rb") as handle:
        script = handle.read()
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)

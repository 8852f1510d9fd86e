"""Serves the stand-in SDK script at the path the real servers use."""
from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("sdk", __name__)


@bp.get("/sdk/supervisor.js")
def supervisor_js():
    """The SDK, always revalidated so the page never runs a stale copy against a newer server."""
    response = send_from_directory(current_app.static_folder, "supervisor.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response

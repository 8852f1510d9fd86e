"""`GET /api/openapi.json`: the OpenAPI 3.1 document of the JSON endpoints (public: it
describes the interface, never a secret)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from portal.api import openapi

bp = Blueprint("api", __name__)


@bp.get("/api/openapi.json")
def openapi_document():
    """The document, made once per app (it depends only on the routes and settings)."""
    document = current_app.extensions.get("openapi")
    if document is None:
        document = current_app.extensions["openapi"] = openapi.document(current_app)
    return jsonify(document)

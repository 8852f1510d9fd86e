"""Token links (``GET /api/auth/<provider>?token=``) and the protocol page."""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, redirect, render_template, request

from .. import timeutil
from ..console.auth import log_in
from ..store import Store
from . import metrics as metric_rules
from . import objects
from . import sessions as svc
from .api import public_base
from .tokens import TokenRejected, verify

bp = Blueprint("links", __name__)


def _store() -> Store:
    return current_app.extensions["sandbox_store"]


def _safe_redirect(target: str | None) -> str | None:
    """Only relative paths of this server (no scheme, no ``//host``)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.get("/api/auth/<provider>")
def token_link(provider: str):
    """A student token opens the proctoring frame around the token's ``url``; a proctor
    token logs into the console (and opens the ``identifier``'s protocol)."""
    settings = current_app.config
    if provider != settings["SANDBOX_PROVIDER"]:
        abort(404, description=f"unknown auth provider {provider!r}")
    token = request.args.get("token", "")
    try:
        claims = verify(token, settings["SANDBOX_JWT_SECRET"])
    except TokenRejected as exc:
        return render_template("error.html", title="Proctoring", message=f"Sign-in failed: {exc}"), 401
    target = _safe_redirect(request.args.get("redirect"))
    if claims["role"] == "proctor":
        log_in(claims["username"])
        if target:
            return redirect(target)
        if claims.get("identifier"):
            return redirect(f"/api/report/{claims['identifier']}")
        return redirect("/")
    if target:
        try:
            svc.open_session(_store(), claims, public_base())
        except svc.SessionError as exc:
            return render_template("error.html", title="Proctoring", message=str(exc)), exc.status
        return redirect(target)
    return render_template("supervisor_frame.html", token=token, provider=provider, claims=claims)


@bp.get("/api/report/<identifier>")
def report(identifier: str):
    """The protocol: summary, metric averages, score timeline, conclusion (shared, no login)."""
    try:
        row = svc.by_identifier(_store(), identifier)
    except svc.SessionError:
        abort(404, description="unknown session")
    samples = svc.samples(_store(), row["id"])
    values = [json.loads(s["metrics"]) for s in samples]
    timeline = [{"at": timeutil.iso(s["at"]), "score": s["score"]} for s in samples]
    return render_template(
        "report.html", row=row, session=svc.session_object(row), timeline=timeline,
        averages=metric_rules.averages(values), threshold=metric_rules.THRESHOLD,
        score=samples[-1]["score"] if samples else None, iso=timeutil.iso,
    )


@bp.get("/rules")
def rules():
    """The rules page the real SDK's rules step frames (``room.rules``): "I agree" posts
    ``DONE`` to the framing page, as the vendor's step expects (static/rules.js)."""
    response = current_app.make_response(render_template("rules.html", rules=objects.RULES))
    # Framed by the exam page, on the portal's origin.
    response.headers["Content-Security-Policy"] = "frame-ancestors *"
    return response

"""The console's HTML: a login form, then one live page driven by ``console.js``."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from ..supervisor.metrics import VIOLATIONS
from .auth import credentials_ok, csrf_token, current_proctor, log_in

bp = Blueprint("console", __name__)


@bp.get("/")
def index():
    """The console when logged in, else the login form."""
    proctor = current_proctor()
    if proctor is None:
        return render_template("console_login.html", error=None)
    return render_template("console.html", proctor=proctor, csrf=csrf_token(),
                           violations=list(VIOLATIONS))


@bp.post("/login")
def login():
    """Check the console credentials; one vague message for any mismatch."""
    username = request.form.get("username", "")
    if not credentials_ok(username, request.form.get("password", "")):
        return render_template("console_login.html", error="Wrong username or password."), 401
    log_in(username)
    return redirect(url_for("console.index"))


@bp.post("/logout")
def logout():
    """End the console session (POST only, with the page's CSRF token)."""
    if request.form.get("csrf") == session.get("csrf"):
        session.clear()
    return redirect(url_for("console.index"))

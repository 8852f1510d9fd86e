"""Log in and out."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.auth import services, sessions
from portal.auth.forms import LoginForm
from portal.extensions import limiter

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only a local path: no scheme, no host, no protocol-relative `//host`, no backslash."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.log_in(form.username.data, form.password.data)
        except services.LoginRefused as refusal:
            flash(str(refusal), "error")
            if refusal.retry_after:  # locked: say when to come back
                return (render_template("auth/login.html", form=form), 429,
                        {"Retry-After": str(refusal.retry_after)})
            return render_template("auth/login.html", form=form), 401
        sessions.begin(user)
        return redirect(safe_next(request.args.get("next")) or url_for("core.home"))
    return render_template("auth/login.html", form=form), (400 if form.errors else 200)


@bp.post("/logout")
def logout():
    """End the session on the server (every session of the account), not only here."""
    sessions.end()  # committed with the request (core/unit_of_work.py)
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))

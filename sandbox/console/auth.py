"""Who is the proctor: a console login cookie, or HTTP Basic credentials (scripts).

Cookie-authenticated writes to the JSON API must echo the page's CSRF token in the
``X-CSRF-Token`` header: the portal runs on the same host, so a cookie alone would
let any page there act as the proctor.
"""
from __future__ import annotations

import functools
import hmac
import secrets
from typing import Callable

from flask import current_app, jsonify, request, session


def credentials_ok(username: str, password: str) -> bool:
    """Constant-time check of the console user and password."""
    settings = current_app.config
    user_ok = hmac.compare_digest(username.encode(), settings["SANDBOX_CONSOLE_USER"].encode())
    pass_ok = hmac.compare_digest(password.encode(), settings["SANDBOX_CONSOLE_PASSWORD"].encode())
    return user_ok and pass_ok


def log_in(username: str) -> None:
    """Start a console session for ``username`` (password login or a proctor token)."""
    session.clear()
    session["proctor"] = username
    session["csrf"] = secrets.token_urlsafe(24)


def current_proctor() -> str | None:
    """The logged-in proctor's name from the cookie, or None."""
    return session.get("proctor")


def csrf_token() -> str:
    """The console page's CSRF token (created on demand)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def api_proctor() -> str | None:
    """The proctor of a JSON API request (Basic auth, or cookie + CSRF for writes), or None."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        if credentials_ok(auth.username or "", auth.password or ""):
            return auth.username
        return None
    proctor = current_proctor()
    if proctor is None:
        return None
    if request.method not in ("GET", "HEAD"):
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            return None
    return proctor


def api_login_required(view: Callable) -> Callable:
    """JSON API guard: 401 with a Basic challenge unless a proctor is authenticated."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        proctor = api_proctor()
        if proctor is None:
            response = jsonify({"error": "console credentials required (HTTP Basic)"})
            response.headers["WWW-Authenticate"] = 'Basic realm="sandbox console"'
            return response, 401
        return view(proctor, *args, **kwargs)
    return wrapped

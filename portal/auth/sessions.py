"""Logged-in sessions, ended on the server.

The session is Flask's signed cookie. What keeps a copied cookie from outliving the
session it came from:
- the **session version**: the login stores `<user id>:<session_version>` (User.get_id);
  logout and password changes raise the account's version, and the user loader accepts
  only the current one, so an older cookie is simply not logged in;
- two **lifetimes**, from timestamps in the signed session: SESSION_IDLE_MINUTES since the
  last request, SESSION_MAX_HOURS since the login. Every request counts as activity
  (a running exam page saves answers and metrics), noted at most once a minute so the
  cookie is not re-sent on every response.

Cost per request: no query here; the user loader's one SELECT checks the version and
reads the account's few columns a request needs into a `SessionUser` (not an ORM object:
an identity-mapped `User` costs four times the statement itself, on every request).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Flask, current_app, flash, g, redirect, request, session
from flask_login import current_user, login_url, login_user, logout_user
from sqlalchemy import bindparam, select

from portal.auth import services
from portal.auth.models import INSTRUCTOR, User
from portal.errors import error_response, wants_json
from portal.extensions import db, login_manager

LOGIN_AT = "login_at"  # epoch seconds of the login
SEEN_AT = "seen_at"  # epoch seconds of the last request, to the minute
TOUCH_SECONDS = 60  # how stale SEEN_AT may get before a request rewrites it
# What Flask-Login keeps in the session for a login (its own keys) and ours.
LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember", "_remember_seconds", LOGIN_AT, SEEN_AT)


def begin(user: User) -> None:
    """Log `user` in: the account's current version and fresh timestamps go into the
    session, in place of any earlier login's."""
    _forget_login()
    login_user(user)
    now = int(time.time())
    session[LOGIN_AT] = session[SEEN_AT] = now


def end() -> None:
    """Log the current user out: end every session of the account on the server (in
    the caller's transaction: commit it), then forget this one."""
    if current_user.is_authenticated:
        services.end_sessions(current_user.id)
    logout_user()


def _forget_login() -> None:
    for key in LOGIN_KEYS:
        session.pop(key, None)


def expiry_message(now: int) -> str | None:
    """Why the current session's login has run out, or None while it is valid."""
    idle_minutes = current_app.config["SESSION_IDLE_MINUTES"]
    max_hours = current_app.config["SESSION_MAX_HOURS"]
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        # A login from before lifetimes were recorded: it has no known age.
        return "Your session has ended. Log in again."
    if now - seen_at > idle_minutes * 60:
        return f"Your session expired after {idle_minutes} minutes without activity. Log in again."
    if now - login_at > max_hours * 3600:
        return f"Your session ended: a login lasts at most {max_hours} hours. Log in again."
    return None


def enforce_lifetimes() -> None:
    """Before every request: a login past either lifetime is forgotten (the request
    goes on as anonymous, with a flashed message that says why); a valid one notes the
    activity."""
    # `g` belongs to the app context, which a request shares with an enclosing one
    # (tests, scripts): a user loaded before must not answer for this request.
    g.pop("_login_user", None)
    if "_user_id" not in session:
        return
    now = int(time.time())
    message = expiry_message(now)
    if message:
        _forget_login()
        g.session_ended = message
        flash(message, "info")
    elif now - session[SEEN_AT] >= TOUCH_SECONDS:
        session[SEEN_AT] = now


@dataclass(frozen=True)
class SessionUser:
    """`current_user` of a logged-in request: the account's columns a request reads,
    as of the request's start. Not an ORM object: code that changes the account loads
    its `User` by `id`."""

    id: int
    username: str
    role: str
    display_name: str
    session_version: int

    is_authenticated = True
    is_active = True
    is_anonymous = False

    @property
    def is_instructor(self) -> bool:
        return self.role == INSTRUCTOR

    def get_id(self) -> str:
        """What the session holds (as User.get_id): `<id>:<session_version>`."""
        return f"{self.id}:{self.session_version}"


def load_user(user_id: str) -> SessionUser | None:
    """The user of a session's `<id>:<version>` (one SELECT), only while the version is
    the account's current one; else the login is forgotten, as if it had never been."""
    user_key, _, version = user_id.partition(":")
    row = None
    if user_key.isdigit() and version.isdigit():
        row = db.session.connection().execute(_USER_OF_SESSION, {
            "user_id": int(user_key), "version": int(version)}).first()
    if row is None:
        _forget_login()
        return None
    return SessionUser(*row)


# Built once: it runs on every request of a logged-in user (Core on the session's
# connection: the ORM adds nothing to a read of five columns).
_users = User.__table__
_USER_OF_SESSION = (select(_users.c.id, _users.c.username, _users.c.role,
                           _users.c.display_name, _users.c.session_version)
                    .where(_users.c.id == bindparam("user_id"),
                           _users.c.session_version == bindparam("version")))


def unauthorized():
    """A page that needs a login, without one: JSON clients get 401 JSON (a fetch cannot
    follow a login page usefully); pages go to the login page, and back after it."""
    message = g.get("session_ended")
    if wants_json():
        return error_response(401, message or "You are not logged in (or your session "
                                              "ended). Log in and try again.")
    if not message:  # an ended session has flashed why already
        flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def register(app: Flask) -> None:
    """Bind the user loader and the login-required answer; check lifetimes first thing."""
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    app.before_request(enforce_lifetimes)

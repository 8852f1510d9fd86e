"""The exam portal: a Flask app factory."""
from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as settings_module
from portal import logs, sqlite_writers
from portal.extensions import csrf, db, limiter, login_manager, migrate


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the portal. Settings: defaults < instance/config.py < environment < test_config.

    Raises ConfigError (with the missing setting's name) when a required secret is absent
    outside demo and test mode. Creates no tables and makes no network calls.
    """
    from portal.proctoring import setup as proctoring_setup

    app = Flask(__name__, instance_relative_config=True)
    # The portal's settings and the vendors' (their providers declare them).
    app.config.from_mapping(proctoring_setup.defaults())
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(proctoring_setup.from_environment(os.environ))
    if test_config:
        app.config.update(test_config)
    proctoring_setup.validate_settings(app.config)
    _configure_database(app)
    _configure_sessions(app)
    _configure_proxy(app)
    logs.configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])

    register_extensions(app)
    register_request_parsing(app)
    register_blueprints(app)
    register_cli(app)

    from portal import errors, security
    from portal.core import unit_of_work

    errors.register(app)
    security.register(app)
    unit_of_work.install(app)  # last: its after_request runs first (see install)
    return app


def _configure_database(app: Flask) -> None:
    url = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config["DATABASE_URL"]
    if not url:
        os.makedirs(app.instance_path, exist_ok=True)
        url = "sqlite:///" + os.path.join(app.instance_path, "portal.sqlite")
    if url.startswith("postgres://"):  # the form some hosts hand out
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite"):
        # Wait for a writer instead of failing at once (several gunicorn workers), in
        # line on a lock file rather than in SQLite's sleeping busy handler.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {
            "timeout": 15,
            "factory": sqlite_writers.connection_class(app.config["SQLITE_SYNCHRONOUS"])}})
    else:
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL lets readers run beside the one writer; foreign keys are off by default.
    synchronous: FULL (SQLite's default) unless SQLITE_SYNCHRONOUS=NORMAL chose the
    connection class (docs/benchmarks.md, "Durability")."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        synchronous = getattr(dbapi_connection, "synchronous", "FULL")
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # FULL or NORMAL (validated)
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _configure_sessions(app: Flask) -> None:
    if app.config["SESSION_COOKIE_SECURE"]:
        # HTTPS: the framed test page (token links, Constructor) runs inside the
        # proctoring origin, a cross-site frame, so the cookie must be SameSite=None.
        app.config["SESSION_COOKIE_SAMESITE"] = "None"
        app.config["REMEMBER_COOKIE_SECURE"] = True
    else:
        app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["RATELIMIT_ENABLED"] = app.config.get("RATELIMIT_ENABLED", True)
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # the token lives as long as the session
    # The cookie's own signature expires with the longest a login may last (Flask's
    # default is 31 days); the idle and absolute lifetimes proper are checked on every
    # request from the session's timestamps (auth/sessions.py).
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_MAX_HOURS"])


def _configure_proxy(app: Flask) -> None:
    """Trust each X-Forwarded-* header exactly as many times as proxies set it.

    Behind deploy/nginx/portal.conf every count is 1: the client's address, the scheme
    (https), the public host and port then come from nginx, so url_for(_external=True),
    redirects, Flask-WTF's HTTPS referrer check and the per-address rate limit see what
    the browser saw. A count higher than the real number of proxies would let a client
    choose its own address (one forged X-Forwarded-For entry per extra count)."""
    counts = {name.removeprefix("PROXY_FIX_").lower(): app.config[name]
              for name in settings_module.PROXY_FIX_SETTINGS}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)


def register_extensions(app: Flask) -> None:
    import portal.models  # noqa: F401  (the whole schema, for Alembic)
    from portal.auth import sessions
    from portal.auth.models import AnonymousUser

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    _limit_only_limited_views(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.anonymous_user = AnonymousUser
    sessions.register(app)  # the user loader (session version) and the lifetimes


def _limit_only_limited_views(app: Flask) -> None:
    """Flask-Limiter checks default and application-wide limits in a before_request hook
    on every request; the portal sets neither (each limited view's decorator checks its
    own limit, login only), so without them the hook only costs time on every request."""
    if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
        return
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)


def register_request_parsing(app: Flask) -> None:
    """Hostile input refused before any view: JSON bodies, numbers in paths."""
    from portal.core import converters, jsonbody

    converters.register(app)
    jsonbody.register(app)


def register_blueprints(app: Flask) -> None:
    from portal.api.views import bp as api_bp
    from portal.auth.views import bp as auth_bp
    from portal.dashboard.views import bp as dashboard_bp
    from portal.exams.views import bp as exams_bp
    from portal.proctoring import setup as proctoring_setup
    from portal.dashboard.actions import bp as instructor_bp
    from portal.site.views import bp as core_bp

    # Proctoring joins the exam flow (exams/signals.py); the vendors' own endpoints.
    proctoring_setup.init_app(app)
    for blueprint in (core_bp, auth_bp, exams_bp, dashboard_bp, api_bp, instructor_bp):
        app.register_blueprint(blueprint)


def register_cli(app: Flask) -> None:
    from portal.auth.cli import users_cli
    from portal.exams.cli import exams_cli
    from portal.instructor.cli import allow, attempts_cli
    from portal.proctoring.cli import proctor_cli
    from portal.proctoring.outbox.cli import outbox_cli
    from portal.site.cli import demo_cli

    exams_cli.add_command(allow)
    for group in (users_cli, exams_cli, proctor_cli, demo_cli, outbox_cli, attempts_cli):
        app.cli.add_command(group)

"""Settings: defaults, then instance/config.py, then the environment, then validation.

Every setting the portal reads is named here once, but a vendor's own settings, which its
provider declares (`Provider.settings`, checked by `Provider.check_settings`);
portal/proctoring/setup.py puts both together for the app factory. Nothing reads the
environment at import time.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

MODES = ("production", "demo", "test")

# Secrets the portal refuses to start without, outside demo and test mode.
REQUIRED_SECRETS = ("SECRET_KEY", "PROCTOR_JWT_SECRET", "PROCTOR_WEBHOOK_KEY")

# Where the portal says it lives in demo and test mode when PUBLIC_URL is not set (the
# address `make run` serves). Never the request's Host header: a forged Host would
# otherwise choose where the proctoring server posts results, with the webhook key.
DEMO_PUBLIC_URL = "http://127.0.0.1:5000"

# Demo/test values. They match the sandbox's own defaults, so a fresh clone works
# without configuration; `make run` replaces them with random ones in instance/.
DEMO_SECRETS = {
    "SECRET_KEY": "demo-secret-key-not-for-production",
    "PROCTOR_JWT_SECRET": "demo-proctor-jwt-secret-change-me-0123456789",
    "PROCTOR_WEBHOOK_KEY": "demo-webhook-key-change-me-0123456789",
}

DEFAULTS: dict[str, Any] = {
    "PORTAL_MODE": "production",
    "DATABASE_URL": None,  # None: sqlite file in the instance folder
    # SQLite only: FULL (a commit survives a power loss) or NORMAL (it survives a crash of
    # the portal, not of the machine); docs/benchmarks.md, "Durability".
    "SQLITE_SYNCHRONOUS": "FULL",
    "PUBLIC_URL": None,  # required outside demo/test; DEMO_PUBLIC_URL there
    "PROCTOR_URL": "http://127.0.0.1:5001",
    "PROCTOR_PROVIDER": "jwt",
    "PROCTOR_WEBHOOK_HEADER": "X-Api-Key",
    "PROCTOR_TEMPLATE": "default",
    "PROCTOR_TOKEN_TTL": 600,
    "PROCTOR_DEBUG_PANEL": False,
    "OUTBOX_MAX_TRIES": 8,
    "OUTBOX_BACKOFF_BASE": 5.0,
    "OUTBOX_LEASE_SECONDS": 60,
    "OUTBOX_IN_PROCESS_WORKER": False,
    "OUTBOX_POLL_SECONDS": 1.0,
    "OUTBOX_RECONCILE_SECONDS": 300.0,
    # How often the outbox worker closes overdue attempts (0: never; then run
    # `flask exams expire` from cron). Pages show them expired meanwhile, unwritten.
    "EXPIRY_SWEEP_SECONDS": 5.0,
    "OUTBOX_HTTP_TIMEOUT": None,  # None: fitted to the lease (outbox/http.py)
    "VERDICT_GRACE_MINUTES": 30,
    # The SDK emits one metrics event every 10 s (6 a minute): twice that leaves room for
    # bursts; 2,000 in all is over five hours at the SDK's pace.
    "METRICS_PER_MINUTE": 12,
    "METRICS_PER_ATTEMPT": 2000,
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "10 per minute",
    # Per account, in the database (shared by every worker and host): this many failed
    # logins within the window lock the account for the lockout (auth/throttle.py).
    "LOGIN_ACCOUNT_MAX_FAILURES": 10,
    "LOGIN_ACCOUNT_WINDOW_MINUTES": 15,
    "LOGIN_ACCOUNT_LOCKOUT_MINUTES": 15,
    # A session ends after this long without a request, and this long after the login
    # (auth/sessions.py). The idle time must exceed an exam's: a framed test page
    # without the SDK talks to the portal only when the student saves an answer.
    "SESSION_IDLE_MINUTES": 120,
    "SESSION_MAX_HOURS": 12,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SESSION_COOKIE_SECURE": False,
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "text",  # text | json (one JSON object per line, for a log collector)
    # How many proxies in front set each X-Forwarded-* header (werkzeug's ProxyFix).
    # 0 trusts none: right when clients reach gunicorn directly. deploy/nginx/portal.conf
    # sets each of these once, so behind it every count is 1 (docs/deployment.md).
    "PROXY_FIX_X_FOR": 0,
    "PROXY_FIX_X_PROTO": 0,
    "PROXY_FIX_X_HOST": 0,
    "PROXY_FIX_X_PORT": 0,
}

# Whole numbers that must be at least 1.
POSITIVE_INT_SETTINGS = {"LOGIN_ACCOUNT_MAX_FAILURES", "LOGIN_ACCOUNT_WINDOW_MINUTES",
                         "LOGIN_ACCOUNT_LOCKOUT_MINUTES", "SESSION_IDLE_MINUTES",
                         "SESSION_MAX_HOURS", "METRICS_PER_MINUTE", "METRICS_PER_ATTEMPT"}
PROXY_FIX_SETTINGS = ("PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "PROXY_FIX_X_HOST", "PROXY_FIX_X_PORT")
LOG_FORMATS = ("text", "json")

INT_SETTINGS = {"PROCTOR_TOKEN_TTL", "OUTBOX_MAX_TRIES", "OUTBOX_LEASE_SECONDS",
                "VERDICT_GRACE_MINUTES", "MAX_CONTENT_LENGTH", *PROXY_FIX_SETTINGS} | POSITIVE_INT_SETTINGS
FLOAT_SETTINGS = {"EXPIRY_SWEEP_SECONDS", "OUTBOX_BACKOFF_BASE", "OUTBOX_POLL_SECONDS",
                  "OUTBOX_RECONCILE_SECONDS",
                  "OUTBOX_HTTP_TIMEOUT"}
BOOL_SETTINGS = {"PROCTOR_DEBUG_PANEL", "OUTBOX_IN_PROCESS_WORKER", "SESSION_COOKIE_SECURE"}
SQLITE_SYNCHRONOUS_MODES = ("FULL", "NORMAL")
ENV_NAMES = set(DEFAULTS) | set(REQUIRED_SECRETS)


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it and says how to fix it."""


def _coerce(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if name in INT_SETTINGS:
            return int(value)
        if name in FLOAT_SETTINGS:
            return float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number") from None
    if name in BOOL_SETTINGS:
        return value.strip().lower() in ("1", "true", "yes", "on")
    return value


def from_environment(environ: Mapping[str, str],
                     names: Iterable[str] = ENV_NAMES) -> dict[str, Any]:
    """The settings given by environment variables (only `names`, the ones the portal knows)."""
    return {name: _coerce(name, environ[name]) for name in names if environ.get(name)}


def base_url(settings: dict[str, Any], name: str) -> None:
    """Check the base URL setting `name` (if set) and drop its trailing slash, in place.
    Raises ConfigError saying what is wrong with it."""
    if settings.get(name):
        parts = urlsplit(settings[name])
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{name}={settings[name]!r} must start with http:// or https:// "
                              "and name a host")
        if parts.query or parts.fragment:
            raise ConfigError(f"{name}={settings[name]!r}: give a base URL, without ? or #")
        settings[name] = settings[name].rstrip("/")


def validate(settings: dict[str, Any]) -> dict[str, Any]:
    """Fill demo secrets in demo/test mode; raise ConfigError for anything unusable."""
    mode = settings["PORTAL_MODE"]
    if mode not in MODES:
        raise ConfigError(f"PORTAL_MODE={mode!r}: expected one of {', '.join(MODES)}")
    if mode in ("demo", "test"):
        for name, value in DEMO_SECRETS.items():
            settings[name] = settings.get(name) or value
    missing = [name for name in REQUIRED_SECRETS if not settings.get(name)]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} not set. Set {'it' if len(missing) == 1 else 'them'} in "
            "the environment or instance/config.py (or PORTAL_MODE=demo for a local demo)."
        )
    keys = settings["PROCTOR_WEBHOOK_KEY"]
    if isinstance(keys, str):
        # Several comma-separated keys are accepted at once, so a key can be rotated.
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    settings["PROCTOR_WEBHOOK_KEYS"] = list(keys)
    if mode in ("demo", "test"):
        settings["PUBLIC_URL"] = settings.get("PUBLIC_URL") or DEMO_PUBLIC_URL
    if not settings.get("PUBLIC_URL"):
        raise ConfigError(
            "PUBLIC_URL not set. It is the portal's public base URL (e.g. "
            "https://exams.example.edu): the proctoring tokens' api, url and referrer and "
            "the vendors' session URLs are built from it, never from the request's Host. "
            "Set it in the environment or instance/config.py (or PORTAL_MODE=demo for a local demo)."
        )
    for name in sorted(POSITIVE_INT_SETTINGS):
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}={value!r} must be a whole number of at least 1")
    if settings["SESSION_IDLE_MINUTES"] > settings["SESSION_MAX_HOURS"] * 60:
        raise ConfigError(f"SESSION_IDLE_MINUTES={settings['SESSION_IDLE_MINUTES']} is longer "
                          f"than SESSION_MAX_HOURS={settings['SESSION_MAX_HOURS']}: lower it, "
                          "or raise SESSION_MAX_HOURS")
    for name in PROXY_FIX_SETTINGS:
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
            raise ConfigError(f"{name}={value!r} must be a count of proxies from 0 to 5 "
                              "(1 behind the one nginx of deploy/; 0 without a proxy)")
    synchronous = str(settings["SQLITE_SYNCHRONOUS"]).strip().upper()
    if synchronous not in SQLITE_SYNCHRONOUS_MODES:
        raise ConfigError(f"SQLITE_SYNCHRONOUS={settings['SQLITE_SYNCHRONOUS']!r}: expected FULL "
                          "(the default: a commit survives a power loss) or NORMAL (a commit "
                          "survives a crash of the portal, not of the machine)")
    settings["SQLITE_SYNCHRONOUS"] = synchronous
    if settings["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT={settings['LOG_FORMAT']!r}: expected text or json")
    for name in ("PROCTOR_URL", "PUBLIC_URL"):
        base_url(settings, name)
    return settings

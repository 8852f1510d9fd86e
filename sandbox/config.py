"""Settings of the sandbox: defaults, the environment, then the caller's overrides.

Every setting is named ``SANDBOX_*`` and documented in ``docs/sandbox.md``. The
defaults are the demo values shared with the portal's demo configuration; the sandbox
is a stand-in for a proctoring server and never holds real secrets.
"""
from __future__ import annotations

import os
import secrets
from typing import Any, Mapping

DEFAULTS: dict[str, Any] = {
    "SANDBOX_JWT_SECRET": "demo-proctor-jwt-secret-change-me-0123456789",
    "SANDBOX_WEBHOOK_KEY": "demo-webhook-key-change-me-0123456789",
    "SANDBOX_WEBHOOK_HEADER": "X-Api-Key",
    "SANDBOX_WEBHOOK_FORMAT": "json",
    "SANDBOX_PROVIDER": "jwt",
    "SANDBOX_METRICS_PERIOD": 10.0,
    "SANDBOX_EVENT_PERIOD": 60.0,
    "SANDBOX_HEARTBEAT_PERIOD": 10.0,
    "SANDBOX_SDK_FILE": "",
    "SANDBOX_CONSOLE_USER": "proctor",
    "SANDBOX_CONSOLE_PASSWORD": "sandbox",
    "SANDBOX_PRECHECKS": "rules,equipment",
    "SANDBOX_START_ERROR": "",
    "SANDBOX_CONSTRUCTOR_SECRET": "demo-constructor-secret-change-me-0123456789",
    "SANDBOX_CONSTRUCTOR_INTEGRATION": "portal",
    "SANDBOX_REVIEW_URL": "http://127.0.0.1:5000/api/constructor/review",
    "SANDBOX_FINISH_FAULTS": "",
    "SANDBOX_DATABASE": "",
    "SANDBOX_RETRY_BASE": 2.0,
    "SANDBOX_PUBLIC_URL": "",
    "SANDBOX_BACKGROUND": None,  # None: on unless TESTING
    "SANDBOX_SECRET_KEY": "",
}

FLOATS = ("SANDBOX_METRICS_PERIOD", "SANDBOX_EVENT_PERIOD", "SANDBOX_HEARTBEAT_PERIOD",
          "SANDBOX_RETRY_BASE")
POSITIVE = ("SANDBOX_METRICS_PERIOD", "SANDBOX_EVENT_PERIOD", "SANDBOX_HEARTBEAT_PERIOD")

# The SDK error names a real start() may reject with (contract 1.1).
START_ERRORS = (
    "Unsupported", "WrongSize", "NoRecorder", "NoPicture", "NoVideo", "LowVolume",
    "NoAudio", "NoCapture", "Multiscreen", "NoScreen", "NoConnection", "RtcError",
)
PRECHECKS = ("rules", "equipment")


class ConfigError(ValueError):
    """A setting has a value the sandbox cannot work with."""


def load_settings(environ: Mapping[str, str], overrides: Mapping[str, Any] | None,
                  instance_path: str, file_values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the validated settings: defaults < instance file < environment < ``overrides``.

    Raises ConfigError naming the first bad setting.
    """
    settings = dict(DEFAULTS)
    settings.update({k: v for k, v in (file_values or {}).items() if k in DEFAULTS})
    for name in DEFAULTS:
        if name in environ:
            settings[name] = environ[name]
    settings.update(overrides or {})
    for name in FLOATS:
        try:
            settings[name] = float(settings[name])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name} must be a number") from exc
    for name in POSITIVE:
        if settings[name] <= 0:
            raise ConfigError(f"{name} must be positive")
    sdk_file = settings["SANDBOX_SDK_FILE"] or ""
    if sdk_file and not os.path.isfile(sdk_file):
        raise ConfigError(f"SANDBOX_SDK_FILE: no such file {sdk_file!r} (the SDK script to serve"
                          " at /sdk/supervisor.js; leave it empty for the stand-in)")
    settings["SANDBOX_SDK_FILE"] = sdk_file
    if settings["SANDBOX_WEBHOOK_FORMAT"] not in ("json", "multipart"):
        raise ConfigError("SANDBOX_WEBHOOK_FORMAT must be json or multipart")
    settings["SANDBOX_PRECHECKS"] = parse_prechecks(settings["SANDBOX_PRECHECKS"])
    start_error = settings["SANDBOX_START_ERROR"] or ""
    if start_error and start_error not in START_ERRORS:
        raise ConfigError(f"SANDBOX_START_ERROR must be empty or one of {', '.join(START_ERRORS)}")
    settings["SANDBOX_START_ERROR"] = start_error
    if not settings["SANDBOX_DATABASE"]:
        settings["SANDBOX_DATABASE"] = os.path.join(instance_path, "sandbox.sqlite")
    background = settings["SANDBOX_BACKGROUND"]
    if isinstance(background, str):
        settings["SANDBOX_BACKGROUND"] = background.lower() not in ("0", "false", "no", "off", "")
    # A per-process key is fine: console logins simply end with the process.
    settings["SECRET_KEY"] = settings["SANDBOX_SECRET_KEY"] or secrets.token_hex(32)
    return settings


def parse_prechecks(value: str | list[str]) -> list[str]:
    """Turn ``"rules,equipment"`` into ``["rules", "equipment"]``; raises ConfigError."""
    items = value if isinstance(value, list) else [s.strip() for s in str(value).split(",")]
    items = [s for s in items if s]
    for item in items:
        if item not in PRECHECKS:
            raise ConfigError(f"SANDBOX_PRECHECKS: unknown step {item!r} (known: rules, equipment)")
    return items

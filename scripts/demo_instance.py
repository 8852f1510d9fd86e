#!/usr/bin/env python3
"""Demo instance settings for `make run` (stdlib only, imports neither portal nor sandbox).

    demo_instance.py init         write instance/config.py with random secrets, once
    demo_instance.py sandbox-env  print `export SANDBOX_...=...` lines that give the
                                  sandbox the portal's secrets (unless already set)
"""
from __future__ import annotations

import os
import runpy
import secrets
import shlex
import sys
from pathlib import Path

INSTANCE = Path(__file__).resolve().parent.parent / "instance"
CONFIG = INSTANCE / "config.py"

# sandbox setting <- portal setting
SHARED = {
    "SANDBOX_JWT_SECRET": "PROCTOR_JWT_SECRET",
    "SANDBOX_WEBHOOK_KEY": "PROCTOR_WEBHOOK_KEY",
    "SANDBOX_WEBHOOK_HEADER": "PROCTOR_WEBHOOK_HEADER",
    "SANDBOX_PROVIDER": "PROCTOR_PROVIDER",
    "SANDBOX_CONSTRUCTOR_SECRET": "CONSTRUCTOR_JWT_SECRET",
    "SANDBOX_CONSTRUCTOR_INTEGRATION": "CONSTRUCTOR_INTEGRATION",
}


def init() -> None:
    if CONFIG.exists():
        return
    INSTANCE.mkdir(exist_ok=True)
    values = {
        "PORTAL_MODE": "demo",
        "SECRET_KEY": secrets.token_hex(32),
        "PROCTOR_JWT_SECRET": secrets.token_urlsafe(32),
        "PROCTOR_WEBHOOK_KEY": secrets.token_urlsafe(32),
        "CONSTRUCTOR_JWT_SECRET": secrets.token_urlsafe(32),
        "SANDBOX_CONSOLE_PASSWORD": secrets.token_urlsafe(9),
    }
    lines = ["# Written once by `make run` (scripts/demo_instance.py). Git-ignored.",
             "# Environment variables override these. SANDBOX_* is read by make run only."]
    lines += [f"{name} = {value!r}" for name, value in values.items()]
    CONFIG.write_text("\n".join(lines) + "\n", encoding="utf-8")
    CONFIG.chmod(0o600)
    print(f"Wrote {CONFIG} with new random secrets.")


def sandbox_env() -> None:
    config = runpy.run_path(str(CONFIG)) if CONFIG.exists() else {}

    def setting(name: str) -> str | None:
        return os.environ.get(name) or config.get(name)

    exports = {}
    for sandbox_name, portal_name in SHARED.items():
        value = os.environ.get(sandbox_name) or setting(portal_name)
        if value:
            exports[sandbox_name] = str(value).split(",")[0].strip()
    password = os.environ.get("SANDBOX_CONSOLE_PASSWORD") or config.get("SANDBOX_CONSOLE_PASSWORD")
    if password:
        exports["SANDBOX_CONSOLE_PASSWORD"] = password
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    {"init": init, "sandbox-env": sandbox_env}[sys.argv[1]]()

"""Serve the portal for real: a migrated database and gunicorn on a free loopback port.

For the tests that need separate processes (two hosts, faults): `migrate(url)` runs
`flask --app wsgi db upgrade` as an operator would, and `Portal` starts
`gunicorn --config gunicorn.conf.py wsgi:app` with the given settings, waits until
/healthz answers, and stops it (SIGTERM, then SIGKILL) at the end.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Throw-away secrets of these processes (never the developer's instance/config.py ones:
# the environment wins over it).
SETTINGS = {
    "PORTAL_MODE": "test",
    "SECRET_KEY": "live-test-secret-key-0123456789",
    "PROCTOR_JWT_SECRET": "live-test-proctor-jwt-secret-0123456789",
    "PROCTOR_WEBHOOK_KEY": "live-test-webhook-key-0123456789",
    "CONSTRUCTOR_JWT_SECRET": "test-constructor-secret-0123456789abcdef",
    "PROCTOR_URL": "http://proctor.test",
    "PUBLIC_URL": "http://portal.test",
    "OUTBOX_IN_PROCESS_WORKER": "0",
    "LOG_LEVEL": "INFO",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, **settings: str) -> dict[str, str]:
    """The process environment: this one without the portal's own settings, then
    SETTINGS, the database and `settings`."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROCTOR_", "CONSTRUCTOR_", "OUTBOX_", "RATELIMIT_",
                                  "LOGIN_", "PORTAL_", "DATABASE_", "SECRET_KEY"))}
    env.update(SETTINGS)
    env["DATABASE_URL"] = database_url.replace("postgresql+psycopg://", "postgresql://")
    env.update(settings)
    return env


def migrate(database_url: str) -> None:
    """`flask --app wsgi db upgrade` on database_url; raises with its output if it fails."""
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT,
                          env=environment(database_url), capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}")


class Portal:
    """One portal host: gunicorn with `workers` x `threads` on 127.0.0.1:<free port>."""

    def __init__(self, database_url: str, log_path: Path, workers: int = 2, threads: int = 4,
                 extra_args: tuple[str, ...] = (), wait: bool = True, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = environment(database_url, **settings)
        self._log = open(log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--workers", str(workers),
             "--threads", str(threads), "--bind", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "5", *extra_args, "wsgi:app"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, text=True)
        if wait:  # else the caller calls wait_healthy(), e.g. after starting several
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 30) -> None:
        """Until GET /healthz answers 200; raises (with the log) if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log()}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.url}/healthz never answered 200:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (the master's children)."""
        pids: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
        return pids

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


def cli(database_url: str, *args: str, **settings: str) -> subprocess.Popen:
    """`flask --app wsgi <args>` as a background process (e.g. `outbox work`)."""
    return subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT,
                            env=environment(database_url, **settings),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

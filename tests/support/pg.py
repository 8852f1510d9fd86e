"""Throw-away PostgreSQL for tests: a fresh database on TEST_DATABASE_URL's server, or
a whole cluster the test owns (for stopping and restarting the server).
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import make_url

from tests.support.gunicorn import free_port


def _admin_connect(url: str):
    import psycopg

    parsed = make_url(url)
    return psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                           password=parsed.password, dbname="postgres", autocommit=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on server_url's server (the role must be allowed to
    CREATE DATABASE); yields its postgresql:// URL and drops it afterwards."""
    name = f"portal_t_{secrets.token_hex(4)}"
    with _admin_connect(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(drivername="postgresql", database=name) \
            .render_as_string(hide_password=False)
    finally:
        with _admin_connect(server_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_bin() -> Path | None:
    """Debian's newest PostgreSQL server binaries, if installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


class Cluster:
    """A PostgreSQL cluster of its own (initdb in a temporary folder, trust auth, on
    127.0.0.1:<free port>, fsync off: throw-away), run as the `postgres` user when the
    tests run as root (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server binaries (apt-get install postgresql)")
        self.dir = Path(tempfile.mkdtemp(prefix="portal-pg-"))
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._run(f"{self.bin}/initdb -D {self.dir}/data -A trust -U postgres")
        self.start()

    def _run(self, command: str) -> None:
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", command] if os.geteuid() == 0 \
            else ["/bin/sh", "-c", command]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{command}: {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self._run(f"{self.bin}/pg_ctl -D {self.dir}/data -l {self.dir}/log -w -o "
                  f"'-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off' start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: disconnect clients, roll back; `immediate`: as a crash)."""
        self._run(f"{self.bin}/pg_ctl -D {self.dir}/data -m {mode} -w stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_ready(self, timeout: float = 20) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

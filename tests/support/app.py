"""The tests' app helpers: settings, the app on an empty database of a backend, users,
exams, logging in, starting an attempt (fixtures using them are in tests/conftest.py)."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from portal import create_app
from portal.auth.services import create_user
from portal.db_types import utcnow
from portal.exams.importer import build_exam
from portal.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # The SDK opens the camera and microphone: fake devices, no prompt.
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 "--auto-select-desktop-capture-source=Entire"]
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])

BASE_CONFIG: dict[str, Any] = {
    "PORTAL_MODE": "test",
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "PROCTOR_JWT_SECRET": "test-proctor-jwt-secret-0123456789abcdef",
    "PROCTOR_WEBHOOK_KEY": "test-webhook-key-0123456789",
    "CONSTRUCTOR_JWT_SECRET": "test-constructor-secret-0123456789abcdef",
    "PROCTOR_URL": "http://proctor.test",
    "CONSTRUCTOR_URL": "http://constructor.test",
    "PUBLIC_URL": "http://portal.test",
    "RATELIMIT_ENABLED": False,
}

_pg_schema_ready = False


_apps_to_dispose: list = []


def make_app(backend: str, tmp_path, **overrides: Any):
    """A portal app on an empty database of `backend` ('sqlite' or 'postgresql')."""
    global _pg_schema_ready  # noqa: PLW0603
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    else:
        url = TEST_DATABASE_URL
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, **overrides})
    _apps_to_dispose.append(app)
    with app.app_context():
        if backend == "sqlite" or not _pg_schema_ready:
            db.drop_all()
            db.create_all()
            _pg_schema_ready = backend == "postgresql" or _pg_schema_ready
        else:
            names = ", ".join(t.name for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()
    return app


def add_user(username: str, role: str = "student", password: str = "password1", **kw):
    user = create_user(username, password, role, **kw)
    db.session.commit()
    return user


EXAM_DATA: dict[str, Any] = {
    "slug": "sample",
    "title": "Sample exam",
    "time_limit_minutes": 30,
    "questions": [
        {"kind": "single", "prompt": "2 + 2?", "options": ["3", "4"], "correct": 1, "points": 2},
        {"kind": "multiple", "prompt": "Primes?", "options": ["2", "4", "5"], "correct": [0, 2]},
        {"kind": "text", "prompt": "Capital of France?", "correct": ["Paris"]},
    ],
}


def add_exam(**overrides: Any):
    exam = build_exam({**EXAM_DATA, **overrides}, "test")
    db.session.add(exam)
    db.session.commit()
    return exam


class Auth:
    """Log a test client in and out through the real form (CSRF included)."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        page = self.client.get(path, follow_redirects=True).get_data(as_text=True)
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def login(self, username: str = "student1", password: str = "password1"):
        return self.client.post("/login", data={
            "username": username, "password": password, "csrf_token": self.csrf()})

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.csrf("/")})

    def headers(self) -> dict[str, str]:
        """Headers of a page's fetch call: JSON and the CSRF token."""
        return {"X-CSRFToken": self.csrf("/"), "Accept": "application/json"}


def start_attempt(client, auth, exam) -> tuple[int, dict[str, str]]:
    """Start the exam as the logged-in student and report the proctoring start."""
    response = client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    attempt_id = int(response.location.rsplit("/", 1)[1])
    headers = auth.headers()
    assert client.post(f"/api/attempts/{attempt_id}/started", headers=headers).status_code == 200
    return attempt_id, headers


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


__all__ = ["add_user", "add_exam", "start_attempt", "utcnow", "hours", "make_app"]

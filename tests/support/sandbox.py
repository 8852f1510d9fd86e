"""Helpers shared by the sandbox's tests: token makers, a test-client session, a receiver."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

import jwt
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

JWT_SECRET = "test-proctor-jwt-secret-0123456789abcdef"
CONSTRUCTOR_SECRET = "test-constructor-secret-0123456789abcdef"
WEBHOOK_KEY = "test-webhook-key-0123456789"
CONSOLE = ("proctor", "sandbox")


def make_token(claims: dict[str, Any] | None = None, secret: str = JWT_SECRET, drop: tuple = (),
               algorithm: str = "HS256", **extra: Any) -> str:
    """A student token with sane defaults; ``drop`` removes fields, ``extra`` adds/overrides."""
    payload: dict[str, Any] = {"exp": int(time.time()) + 300, "username": "student-1",
                               "nickname": "Ada Lovelace", "identifier": "Attempt0001",
                               "template": "default", "subject": "Algebra"}
    payload.update(claims or {})
    payload.update(extra)
    for name in drop:
        payload.pop(name, None)
    return jwt.encode(payload, secret, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Session:
    """A student's side of one session through the test client, over the REST calls of
    contract 1.6 (the socket side is in test_sandbox_protocol.py)."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.access = token
        room = self.fetch().get_json()
        self.id = self.identifier = room["id"]

    def _headers(self) -> dict[str, str]:
        return bearer(self.access)

    def fetch(self):
        return self.client.get("/api/room/fetch", headers=self._headers())

    def start(self):
        return self.client.post(f"/api/room/start?id={self.id}", headers=self._headers())

    def stop(self):
        return self.client.post(f"/api/room/stop?id={self.id}", headers=self._headers())

    def event(self, metrics: dict[str, Any]):
        """The SDK's periodic chat ``event`` (the sandbox stores it as a metrics sample)."""
        body = {"type": "event", "metadata": {"metrics": metrics, "peak": None, "threshold": 50,
                                              "violated": False}}
        return self.client.post(f"/api/chat/{self.id}", json=body, headers=self._headers())

    def violation(self, body: dict[str, Any]):
        return self.client.post(f"/api/sandbox/violation?id={self.id}", json=body,
                                headers=self._headers())

    def status(self) -> str:
        return self.fetch().get_json()["status"]


class Receiver:
    """A real HTTP server on a free loopback port that records requests.

    ``answers`` is a list of status codes used up one per request; after that it
    answers 200.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        record = {"path": request.path, "headers": dict(request.headers),
                  "content_type": request.mimetype, "body": request.get_data(as_text=True),
                  "form": request.form.to_dict(), "at": time.time()}
        if request.mimetype == "application/json":
            record["json"] = json.loads(record["body"])
        self.requests.append(record)
        status = self.answers.pop(0) if self.answers else 200
        return Response("stored" if status == 200 else "try later", status=status)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

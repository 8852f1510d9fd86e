"""Helpers of the Constructor review tests: a review body, and posting one with a JWT."""
from __future__ import annotations

import json

from tests.support.constructor import server_jwt

URL = "/api/constructor/review"


def review(session_id: str, **fields):
    body = {
        "accountId": "portal", "sessionId": session_id,
        "archive": f"http://constructor.test/integration/simple/archive/{session_id}/",
        "conclusion": None, "comment": None, "score": 55,
        "threshold": {"attention": 70, "rejected": 40},
        "sessionStart": "2026-03-01T10:00:00.000Z", "sessionEnd": "2026-03-01T10:42:30.000Z",
        "warnings": [{"type": "extra_face", "start": "2026-03-01T10:10:00.000Z",
                      "end": "2026-03-01T10:10:05.000Z", "cyber": True},
                     {"type": "mystery", "start": None, "end": None, "cyber": False}],
        "warningTitles": {"extra_face": {"ru": "Посторонний", "en": "Another person in the frame"}},
    }
    body.update(fields)
    return body


def post(client, body, token: str | None = None, scheme: str = "JWT", **kwargs):
    headers = {}
    token = server_jwt() if token is None else token
    if token:
        headers["Authorization"] = f"{scheme} {token}"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, headers=headers,
                       content_type=kwargs.pop("content_type", "application/json"), **kwargs)

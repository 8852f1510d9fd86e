"""Helpers of the webhook and ordering tests: post a delivery, build one, read the log
and the result, open an attempt with a given identifier."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from portal.exams import services
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring.models import ProctoringResult, WebhookDelivery
from tests.support.app import BASE_CONFIG

URL = "/api/proctoring/webhook"
KEY = BASE_CONFIG["PROCTOR_WEBHOOK_KEY"]
REAL_ID = "ebb455bf-a757-4b62-bc27-da8c9ffb69fd"
# Contract 1.5: a real delivery as a request inspector captured it, byte for byte.
REAL_DELIVERY = (
    '{"identifier":"ebb455bf-a757-4b62-bc27-da8c9ffb69fd","link":"https://demo.proctoring.online'
    '/api/report/ebb455bf-a757-4b62-bc27-da8c9ffb69fd","status":"stopped","duration":35,'
    '"startedAt":"2022-02-18T22:55:36.523Z","stoppedAt":"2022-02-18T23:55:58.524Z","score":64,'
    '"student":"82e77802-08ad-42df-bb31-c7592e96ba5c","proctor":"admin","comment":null,'
    '"signedAt":"2022-02-18T23:55:58.524Z","conclusion":null,"averages":{"b1":0,"b2":0,"b3":0,'
    '"c1":0,"c2":0,"c3":0,"c4":0,"c5":0,"k1":0,"m1":0,"m2":0,"n1":36,"n2":0,"s1":0,"s2":0}}')


# ---- helpers -------------------------------------------------------------------------

def post(client, body: Any = None, *, key: str | None = KEY, header: str = "X-Api-Key",
         content_type: str | None = "application/json", data: Any = None, **kw):
    """POST a delivery: `body` is sent as JSON (a dict) or as is (str/bytes)."""
    headers = {header: key} if key is not None else {}
    headers.update(kw.pop("headers", {}))
    if data is None:
        data = json.dumps(body) if isinstance(body, (dict, list)) else body
    if content_type is None:
        return client.post(URL, data=data, headers=headers, **kw)
    return client.post(URL, data=data, content_type=content_type, headers=headers, **kw)


def delivery(identifier: str = "session1", status: str | None = "stopped",
             signed: str | None = "2024-05-01T10:00:00.000Z", **fields: Any) -> dict[str, Any]:
    body = {"identifier": identifier, "status": status, "signedAt": signed,
            "startedAt": "2024-05-01T09:00:00.000Z", "score": 80}
    body.update(fields)
    return body


def log_rows() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def result_for(identifier: str) -> ProctoringResult | None:
    db.session.expire_all()
    return db.session.scalar(select(ProctoringResult).where(
        ProctoringResult.identifier == identifier))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def open_attempt(user, exam, identifier: str | None = None, started: bool = True) -> Attempt:
    """An attempt of `user` (in progress unless `started=False`), with `identifier`."""
    attempt = services.start_or_resume(user, exam)
    if identifier:
        attempt.identifier = identifier
    db.session.flush()
    if started:
        services.report_started(attempt)
    db.session.commit()
    return attempt

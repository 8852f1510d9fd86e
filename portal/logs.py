"""Log lines for people (`LOG_FORMAT=text`) or for a log collector (`LOG_FORMAT=json`).

JSON lines carry the request id that nginx sets (`X-Request-Id`, deploy/nginx/portal.conf),
which nginx's own JSON access log and the webhook delivery log also record, so one id
follows a request through all three.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from flask import has_request_context, request

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, the request's
    method, path and id when there is a request, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["method"] = request.method
            entry["path"] = request.path
            request_id = request.headers.get("X-Request-Id")
            if request_id:
                entry["request_id"] = request_id[:100]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str, log_format: str) -> None:
    """Give the root logger one stderr handler in `log_format` (`text` or `json`).

    Like logging.basicConfig, it leaves a root logger that already has handlers alone
    (a test runner's, or a second app in the same process)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])

"""schemathesis against /api/openapi.json, in process (WSGI), past the authentication.

Every documented JSON endpoint gets generated requests, valid and invalid by its schema
(the same pydantic models that validate it): no answer may be a 5xx, and every answer
must be documented and conform to its schema (status, content type, body, headers).
Credentials are real: the webhook key, a fresh Constructor JWT, a logged-in student's
session cookie with its CSRF token, and the ids of that student's running attempt and
its exam's question, so requests reach the code behind the checks. Bounded: a few dozen
examples per operation, no deadline (the machine is shared), on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL (lengths, surrogates, 64-bit integers).
"""
from __future__ import annotations

import time

import jwt
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from portal.api.openapi import operations
from tests.support.app import BASE_CONFIG, start_attempt

MAX_EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


@pytest.fixture
def credentials(app, client, auth, student, exam) -> dict:
    """A logged-in student's running attempt and every credential the endpoints take."""
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    review_token = jwt.encode({"exp": int(time.time()) + 3600},
                              BASE_CONFIG["CONSTRUCTOR_JWT_SECRET"], algorithm="HS256")
    return {
        "headers": {
            "X-Api-Key": BASE_CONFIG["PROCTOR_WEBHOOK_KEY"],
            "Authorization": f"JWT {review_token}",
            "X-CSRFToken": headers["X-CSRFToken"],
            "Cookie": f"{cookie.key}={cookie.value}",
        },
        "path_parameters": {"attempt_id": attempt_id, "question_id": exam.questions[2].id},
    }


def _operation(app, operation_id: str):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") == operation_id:
            return operation
    raise LookupError(operation_id)


# Invalid requests need something to make invalid: a body or a path parameter.
RUNS = [pytest.param(op.endpoint, mode, id=f"{op.endpoint}-{mode.value}")
        for op in operations() for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if mode == GenerationMode.POSITIVE or op.body or op.security == "student"]


@pytest.mark.parametrize("operation_id,mode", RUNS)
def test_no_5xx_and_every_answer_conforms(app, credentials, operation_id, mode):
    operation = _operation(app, operation_id)
    parameters = {name: value for name, value in credentials["path_parameters"].items()
                  if "{" + name + "}" in operation.path}

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=parameters or None))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers=credentials["headers"], checks=CHECKS)

    check()

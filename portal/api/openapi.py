"""The OpenAPI 3.1 document of the portal's JSON endpoints, served at `/api/openapi.json`.

Generated, never written by hand: each request body's schema is the JSON Schema of the
very pydantic model that validates it (`model_json_schema`), each answer's that of its
model in `responses.py`, and each path and method come from the app's URL map (by
endpoint name), so the document cannot drift from the routes. `OPERATIONS` says, per
endpoint, what is not in the code's types: its security and the refusals it answers.
A test fails when an `/api/` route is missing here.
"""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from werkzeug.routing import IntegerConverter, Rule

from portal.api import responses
from portal.core.jsonbody import INT_MAX
from portal.exams.schemas import AnswerBody
from portal.core.openapi import PUBLIC, STUDENT, Operation
from portal.proctoring import providers
from portal.proctoring.schemas import MetricsBatch

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"


# Why each status is answered; the error body is always `responses.Error`.
REFUSALS = {
    400: "The body is not acceptable (each problem listed), or the CSRF token is missing.",
    401: "Missing or wrong credentials.",
    403: "Logged in, but not as a student.",
    404: "No such attempt or question for this user.",
    409: "The attempt's state does not allow it (for example, it is closed); for a "
         "delivery: the identifier is a session of another proctoring vendor.",
    413: "The body is over 1 MiB (MAX_CONTENT_LENGTH).",
    415: "The body is not of a content type this endpoint reads.",
    429: "Too many requests.",
    503: "Storage failed; nothing was stored: send it again later (Retry-After).",
}


# The portal's own; each vendor's are its provider's (`api_operations`).
OPERATIONS: tuple[Operation, ...] = (
    Operation("exams.started", "The SDK's start() resolved: the time limit counts from now",
              "exam page", STUDENT, responses.Started, (400, 403, 404, 409)),
    Operation("exams.questions", "The attempt's questions, once proctoring started",
              "exam page", STUDENT, responses.Questions, (403, 404, 409)),
    Operation("exams.save_answer", "Save one answer", "exam page", STUDENT,
              responses.AnswerSaved, (400, 403, 404, 409, 413, 415), body=AnswerBody),
    Operation("exams.submit", "Submit: grade and close the attempt", "exam page", STUDENT,
              responses.Submitted, (400, 403, 404, 409)),
    # No body: whatever the page says of the stop (a proctor's name) is not evidence.
    Operation("proctoring.stopped", "The SDK's stop event reached the page", "exam page",
              STUDENT, responses.Stopped, (400, 403, 404, 409)),
    Operation("proctoring.metrics", "The SDK's metrics events, queued by the page",
              "exam page", STUDENT, responses.MetricsStored,
              (400, 403, 404, 409, 413, 415, 429), body=MetricsBatch),
    Operation("core.healthz", "Health check for load balancers", "operations", PUBLIC,
              responses.Health, (503,)),
)


def operations() -> list[Operation]:
    """Every documented endpoint: each registered vendor's, then the portal's."""
    providers.discover()
    return [operation for provider in providers.all_providers()
            for operation in provider.api_operations] + list(OPERATIONS)


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `app` (its URL map and settings). Raises LookupError
    when an operation names an endpoint the app does not have."""
    components: dict[str, Any] = {"schemas": {}, "securitySchemes": _security_schemes(app)}
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations():
        rule = _rule(app, operation.endpoint)
        path, parameters = _path(rule)
        method = next(m for m in sorted(rule.methods or ()) if m not in ("HEAD", "OPTIONS"))
        paths.setdefault(path, {})[method.lower()] = _operation(
            operation, method, parameters, components["schemas"])
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Exam portal: JSON endpoints", "version": "1",
                 "description": "Result deliveries from the proctoring services and the "
                                "student exam page's API. Every refusal is a JSON "
                                "`Error` with a message a person can act on."},
        "paths": paths,
        "components": components,
    }


def _security_schemes(app: Flask) -> dict[str, Any]:
    schemes: dict[str, Any] = {}
    for provider in providers.all_providers():
        schemes.update(provider.api_security_schemes(app.config))
    return {
        **schemes,
        "sessionCookie": {"type": "apiKey", "in": "cookie",
                          "name": app.config["SESSION_COOKIE_NAME"],
                          "description": "A student's login session (POST /login)."},
        "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                      "description": "The page's CSRF token (its csrf-token meta tag); "
                                     "required on every POST and PUT of a session."},
    }


def _security(kind: str, method: str) -> list[dict[str, list]]:
    if kind == STUDENT:
        if method == "GET":
            return [{"sessionCookie": []}]
        return [{"sessionCookie": [], "csrfToken": []}]
    if kind == PUBLIC:
        return []
    return [{kind: []}]  # a vendor's scheme


def _rule(app: Flask, endpoint: str) -> Rule:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == endpoint:
            return rule
    raise LookupError(f"no route has the endpoint {endpoint!r}")


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """`/api/attempts/<int:attempt_id>` as `/api/attempts/{attempt_id}`, with its parameters."""
    parameters = []
    for name, converter in rule._converters.items():  # werkzeug keeps them per argument
        schema: dict[str, Any] = {"type": "string"}
        if isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 0, "maximum": converter.max or INT_MAX}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), parameters


def _schema(model: type[BaseModel], mode: str, schemas: dict[str, Any]) -> dict[str, str]:
    """A $ref to `model`'s JSON Schema, added (with its definitions) to `schemas`."""
    generated = model.model_json_schema(ref_template=REF, mode=mode)
    schemas.update(generated.pop("$defs", {}))
    schemas[model.__name__] = generated
    return {"$ref": REF.format(model=model.__name__)}


def _form_schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    """The model's fields as form fields: text values ("" is null), objects as JSON text."""
    name = f"{model.__name__}Form"
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    schemas[name] = {
        "type": "object", "additionalProperties": {"type": "string"}, "required": required,
        "properties": {n: {"type": "string"} for n in model.model_fields},
        "description": f"{model.__name__} as form fields: every value is text, an empty "
                       "one is null, numbers as text, objects as JSON text.",
    }
    return {"$ref": REF.format(model=name)}


def _operation(operation: Operation, method: str, parameters: list[dict[str, Any]],
               schemas: dict[str, Any]) -> dict[str, Any]:
    error = _schema(responses.Error, "serialization", schemas)
    answers: dict[str, Any] = {
        "200": {"description": "Done.", "content": {"application/json": {
            "schema": _schema(operation.answer, "serialization", schemas)}}},
    }
    for status in operation.refusals:
        answers[str(status)] = {"description": REFUSALS[status],
                                "content": {"application/json": {"schema": error}}}
    if "503" in answers:
        answers["503"]["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    if operation.security == STUDENT:
        # portal/auth/sessions.py:unauthorized: JSON clients get 401, pages the login page.
        answers["401"] = {"description": "Not logged in, or the login ended (idle or absolute "
                                          "lifetime, a logout elsewhere): log in again.",
                          "content": {"application/json": {"schema": error}}}
        answers["302"] = {"description": "Not logged in (a client that does not ask for "
                                          "JSON): redirected to the login page."}
    spec: dict[str, Any] = {
        "operationId": operation.endpoint, "summary": operation.summary,
        "tags": [operation.tag], "parameters": parameters,
        "security": _security(operation.security, method), "responses": answers,
    }
    if operation.body is not None:
        content = {"application/json": {"schema": _schema(operation.body, "validation", schemas)}}
        if operation.forms:
            form = _form_schema(operation.body, schemas)
            content["multipart/form-data"] = {"schema": form}
            content["application/x-www-form-urlencoded"] = {"schema": form}
        spec["requestBody"] = {"required": not operation.body_optional, "content": content}
    return spec

"""GET /api/openapi.json: an OpenAPI 3.1 document of every JSON endpoint, generated from
the pydantic models that validate them, with each endpoint's security."""
from __future__ import annotations

import json
import re

import pytest
import schemathesis

from portal.api.openapi import REF, operations
from portal.exams.schemas import AnswerBody
from portal.proctoring.providers.constructor import ConstructorReview
from portal.proctoring.providers.supervisor.schemas import SupervisorDelivery
from portal.proctoring.schemas import MetricsBatch
from tests.support.app import BASE_CONFIG, make_app

UNDOCUMENTED = {"api.openapi_document"}  # the document itself


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")  # no login: it describes, it holds no secret
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def _operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def test_it_is_a_valid_openapi_3_1_document(app, document):
    assert document["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()  # raises on a document that breaks the OpenAPI 3.1 meta-schema
    assert len(list(schema.get_all_operations())) == len(operations())


def test_every_json_route_is_documented_with_its_method(app, document):
    documented = {(operation["operationId"], method) for _, method, operation in _operations(document)}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint in UNDOCUMENTED:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (rule.endpoint, method) in documented, f"{method} {rule.rule} is not documented"


def test_paths_and_parameters_come_from_the_url_map(app, document):
    rules = {re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()}
    for path, _, operation in _operations(document):
        assert path in rules
        names = re.findall(r"{(\w+)}", path)
        assert [p["name"] for p in operation["parameters"]] == names
        for parameter in operation["parameters"]:
            assert parameter["schema"] == {"type": "integer", "minimum": 0,
                                           "maximum": 2 ** 63 - 1}


@pytest.mark.parametrize("operation_id,model", [
    ("webhooks.supervisor_webhook", SupervisorDelivery), ("constructor.review", ConstructorReview),
    ("exams.save_answer", AnswerBody), ("proctoring.metrics", MetricsBatch)])
def test_request_bodies_are_the_validating_models_schemas(document, operation_id, model):
    [operation] = [op for _, _, op in _operations(document) if op["operationId"] == operation_id]
    content = operation["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": REF.format(model=model.__name__)}
    generated = model.model_json_schema(ref_template=REF)
    definitions = generated.pop("$defs", {})
    schemas = document["components"]["schemas"]
    assert schemas[model.__name__] == generated
    assert all(schemas[name] == schema for name, schema in definitions.items())
    assert operation["requestBody"]["required"] is True


def test_the_stop_report_takes_no_body(document):
    # What the page says of a stop (a proctor's name) is not evidence: it sends nothing.
    [operation] = [op for _, _, op in _operations(document)
                   if op["operationId"] == "proctoring.stopped"]
    assert "requestBody" not in operation


def test_deliveries_accept_the_form_bodies_too(document):
    webhook = document["paths"]["/api/proctoring/webhook"]["post"]
    assert set(webhook["requestBody"]["content"]) == {
        "application/json", "multipart/form-data", "application/x-www-form-urlencoded"}
    form = document["components"]["schemas"]["SupervisorDeliveryForm"]
    assert form["required"] == ["identifier"] and form["properties"]["score"] == {"type": "string"}


def test_each_endpoint_names_its_security(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["webhookKey"] == {**schemes["webhookKey"], "type": "apiKey", "in": "header",
                                     "name": "X-Api-Key"}
    assert schemes["constructorJWT"]["name"] == "Authorization"
    assert (schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]) == ("cookie", "session")
    assert schemes["csrfToken"]["name"] == "X-CSRFToken"
    security = {op["operationId"]: op["security"] for _, _, op in _operations(document)}
    assert security["webhooks.supervisor_webhook"] == [{"webhookKey": []}]
    assert security["constructor.review"] == [{"constructorJWT": []}]
    assert security["exams.questions"] == [{"sessionCookie": []}]
    for operation_id in ("exams.save_answer", "proctoring.metrics", "proctoring.token",
                         "exams.submit", "proctoring.stopped", "exams.started"):
        assert security[operation_id] == [{"sessionCookie": [], "csrfToken": []}]
    assert security["core.healthz"] == []


def test_student_endpoints_document_the_ended_login(document, client):
    # A fetch without a (live) login gets 401 JSON, a page the login page.
    questions = document["paths"]["/api/attempts/{attempt_id}/questions"]["get"]["responses"]
    assert {"401", "302"} <= set(questions)
    answer = client.get("/api/attempts/1/questions", headers={"Accept": "application/json"})
    assert answer.status_code == 401 and "Log in" in answer.json["error"]


def test_every_refusal_is_a_documented_error(document):
    for _, _, operation in _operations(document):
        for status, answer in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert answer["content"]["application/json"]["schema"] == {
                    "$ref": REF.format(model="Error")}
        assert "500" not in operation["responses"]


def test_the_configured_webhook_header_is_documented_and_no_secret_is(tmp_path, backend):
    app = make_app(backend, tmp_path, PROCTOR_WEBHOOK_HEADER="X-Proctor-Key")
    with app.app_context():
        text = app.test_client().get("/api/openapi.json").get_data(as_text=True)
    assert json.loads(text)["components"]["securitySchemes"]["webhookKey"]["name"] == "X-Proctor-Key"
    for name in ("PROCTOR_WEBHOOK_KEY", "PROCTOR_JWT_SECRET", "CONSTRUCTOR_JWT_SECRET", "SECRET_KEY"):
        assert BASE_CONFIG[name] not in text

"""Properties of the parsers (hypothesis): any input gives either a parsed value or a clean
validation error, never another exception; whatever they accept can be stored and shown.

- `jsonbody.loads`: any bytes -> a value, or BodyError;
- the delivery parsers (Supervisor fields from JSON or forms, Constructor reviews) and
  the page's bodies: any JSON value -> a parsed delivery (a ResultUpdate whose content
  serialises, as storing it needs), or InvalidDelivery / ValidationError;
- the dashboard's `pretty_body`: any stored text -> printable text;
- over HTTP, any JSON object posted as a delivery answers 200 or 4xx, never 5xx.
"""
from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from portal.core import jsonbody
from portal.dashboard.present import pretty_body
from portal.exams.schemas import AnswerBody
from portal.proctoring import schemas
from portal.proctoring.providers.supervisor import schemas as supervisor_schemas
from portal.proctoring.providers import constructor
from tests.support.app import BASE_CONFIG, make_app

SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

FIELD_NAMES = ["identifier", "id", "status", "duration", "startedAt", "stoppedAt", "signedAt",
               "score", "threshold", "averages", "student", "proctor", "comment",
               "conclusion", "link", "accountId", "sessionId", "archive", "sessionStart",
               "sessionEnd", "warnings", "warningTitles", "samples", "metrics", "peak",
               "value", "c2", "n1", "type", "start", "end", "cyber", "attention", "rejected"]
# Text that looks like what the fields hold, and text that is anything at all.
TEXT = st.one_of(
    st.text(),
    st.sampled_from(["stopped", "accepted", "ACCEPTED ", "started", "portal", "session1",
                     "2022-02-18T23:55:58.524Z", "0001-01-01T00:00:00+01:00",
                     "9999-12-31T23:59:59-01:00", "2022-02-18T23:55:58+23:59", "64", "1e400",
                     "nan", "-0", "https://x.test/r", "javascript:x", "", "\x00", "\ud800"]),
    st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=130),
)
NUMBERS = st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([0, 100, 101, -1, 2 ** 63, 2 ** 64, 10 ** 400, 1e308]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), TEXT),
                                               children, max_size=6)),
    max_leaves=30)
OBJECTS = st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES, max_size=12)
FORMS = st.dictionaries(st.sampled_from(FIELD_NAMES + ["averages[n1]", "averages[q7]"]),
                        st.one_of(TEXT, st.just("")), max_size=12)


@pytest.fixture(scope="module")
def app_context(tmp_path_factory):
    """review_update reads CONSTRUCTOR_ACCOUNT_ID: an app context, no requests."""
    app = make_app("sqlite", tmp_path_factory.mktemp("parsers"))
    with app.app_context():
        yield app


@given(st.binary(max_size=300) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
@SETTINGS
def test_loads_returns_a_value_or_a_body_error(data):
    try:
        value = jsonbody.loads(data)
    except jsonbody.BodyError as error:
        assert str(error).startswith("The body")
        return
    json.dumps(value, allow_nan=False).encode("utf-8")  # storable as it is


def _through_the_parser(value):
    """What an HTTP body becomes: JSON text, then jsonbody.loads (None when refused)."""
    try:
        return jsonbody.loads(json.dumps(value))
    except jsonbody.BodyError:
        return None


@given(OBJECTS)
@SETTINGS
def test_a_supervisor_delivery_parses_or_is_invalid(fields):
    for candidate in (fields, _through_the_parser(fields)):
        if not isinstance(candidate, dict):
            continue
        try:
            update = supervisor_schemas.supervisor_update(candidate)
        except schemas.InvalidDelivery as error:
            assert error.problems and all(p.message for p in error.problems)
            continue
        assert supervisor_schemas.IDENTIFIER_RE.match(update.identifier)
        if candidate is not fields:  # what HTTP delivers is stored: its content serialises
            update.content()


@given(FORMS)
@SETTINGS
def test_a_supervisor_form_delivery_parses_or_is_invalid(fields):
    fields = {name: value or None for name, value in fields.items()}
    try:
        update = supervisor_schemas.supervisor_update(fields, from_form=True)
    except schemas.InvalidDelivery as error:
        assert error.problems
        return
    update.content()


@given(OBJECTS)
@SETTINGS
def test_a_constructor_review_parses_or_is_invalid(app_context, fields):
    candidate = _through_the_parser(fields)
    if not isinstance(candidate, dict):
        return
    try:
        update = constructor.review_update(candidate)
    except schemas.InvalidDelivery as error:
        assert error.problems and all(p.message for p in error.problems)
        return
    update.content()


@pytest.mark.parametrize("model", [schemas.MetricsBatch, AnswerBody])
@given(value=JSON_VALUES)
@SETTINGS
def test_a_page_body_parses_or_gives_problems(model, value):
    candidate = _through_the_parser(value)
    try:
        model.model_validate(candidate)
    except ValidationError as error:
        problems = jsonbody.problems_of(error)
        assert problems and jsonbody.describe(problems)


@given(st.text() | st.binary().map(lambda b: b.decode("latin-1"))
       | JSON_VALUES.map(lambda v: json.dumps(v)))
@SETTINGS
def test_any_stored_body_renders_as_printable_text(body):
    pretty_body(body).encode("utf-8")


@given(OBJECTS)
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_any_delivery_over_http_answers_200_or_4xx(tmp_path, fields):
    app = make_app("sqlite", tmp_path)
    with app.app_context():
        response = app.test_client().post(
            "/api/proctoring/webhook", data=json.dumps(fields), content_type="application/json",
            headers={"X-Api-Key": BASE_CONFIG["PROCTOR_WEBHOOK_KEY"]})
        assert response.status_code in (200, 400, 409), response.get_data(as_text=True)

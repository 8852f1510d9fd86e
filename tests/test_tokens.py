"""Supervisor tokens: the golden token, payload rules, the token endpoint, the CLI."""
import time
from datetime import datetime, timezone

import jwt
import pytest
from sqlalchemy import select

from portal.db_types import isoformat_z
from portal.exams.models import Attempt
from portal.extensions import db
from portal.proctoring import tokens
from portal.proctoring.providers import supervisor
from tests.support.app import add_exam, start_attempt

GOLDEN_PAYLOAD = ('{"username":"a34c1a1a-53ef-4728-8dc5-9c4779a8586e","nickname":"John Doe",'
                  '"identifier":"565b30b8-5cfb-42e2-a292-478d20630d1b","template":"default",'
                  '"subject":"Tutorial: proctoring","tags":["male"]}')
GOLDEN_SECRET = "eexae8phah3Pha1iereez3oo"
GOLDEN_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImEzNGMxYTFhLTUzZWYtNDcyOC04ZGM1LTlj"
    "NDc3OWE4NTg2ZSIsIm5pY2tuYW1lIjoiSm9obiBEb2UiLCJpZGVudGlmaWVyIjoiNTY1YjMwYjgtNWNmYi00MmUy"
    "LWEyOTItNDc4ZDIwNjMwZDFiIiwidGVtcGxhdGUiOiJkZWZhdWx0Iiwic3ViamVjdCI6IlR1dG9yaWFsOiBwcm9j"
    "dG9yaW5nIiwidGFncyI6WyJtYWxlIl19.Sr3fp-kzjVPZX4pvKgF7zzhIblJMA1eT7gKhJgSYIXU")


def test_golden_token_byte_for_byte():
    import json
    assert tokens.sign(json.loads(GOLDEN_PAYLOAD), GOLDEN_SECRET) == GOLDEN_TOKEN


def test_cli_prints_the_golden_token(app, runner):
    app.config["PROCTOR_JWT_SECRET"] = GOLDEN_SECRET
    result = runner.invoke(args=["proctor", "token"], input=GOLDEN_PAYLOAD)
    assert result.exit_code == 0
    assert result.stdout.strip() == GOLDEN_TOKEN
    assert "no 'exp'" in result.stderr


@pytest.mark.parametrize("stdin,message", [("not json", "not JSON"), ("[1]", "JSON object")])
def test_cli_rejects_bad_input(runner, stdin, message):
    result = runner.invoke(args=["proctor", "token"], input=stdin)
    assert result.exit_code == 1 and message in result.output


def test_signature_verifies_with_pyjwt_and_header_is_exact():
    token = tokens.sign({"exp": int(time.time()) + 60, "username": "u"}, "k" * 32)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert tokens.decode(token, "k" * 32)["username"] == "u"
    with pytest.raises(jwt.InvalidSignatureError):
        tokens.decode(token, "x" * 32)


@pytest.mark.parametrize("change,message", [
    ({"identifier": None}, "missing required field: identifier"),
    ({"template": "bad-template"}, "template must be A-Za-z0-9"),
    ({"identifier": "abc_def"}, "identifier must be A-Za-z0-9"),
    ({"username": "a b"}, "username must be"),
    ({"role": "admin"}, "role must be"),
])
def test_payload_rules(change, message):
    payload = {"exp": 1, "username": "u1", "identifier": "abc", "template": "default", **change}
    with pytest.raises(tokens.TokenError, match=message):
        tokens.validate_student_payload(payload)


def test_student_payload_fields(app, student, client, auth):
    exam = add_exam(closes_at="2030-06-01T12:00:00Z", proctoring_template="exam1",
                    tags=["final"], proctors=["proctor1"], inactivity_timeout_minutes=5)
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    attempt = db.session.get(Attempt, attempt_id)
    with app.test_request_context():
        payload = supervisor.student_payload(attempt)
    assert list(payload) == ["exp", "iat", "username", "nickname", "role", "identifier",
                             "template", "subject", "api", "referrer", "timeout",
                             "deadline", "tags", "group", "lang", "invites"]
    assert payload["username"] == student.public_id and payload["username"].isalnum()
    assert payload["nickname"] == "Ada Lovelace" and payload["role"] == "student"
    assert payload["identifier"] == attempt.identifier and payload["template"] == "exam1"
    assert payload["subject"] == "Sample exam"
    assert payload["api"] == "http://portal.test/api/proctoring/webhook"
    assert "url" not in payload  # the SDK page's token: a url would frame over the page
    assert payload["referrer"] == f"http://portal.test/attempts/{attempt_id}"
    # The attempt runs: its own deadline (time limit; never past the exam's close).
    assert payload["deadline"] == isoformat_z(attempt.deadline_at)
    assert attempt.deadline_at < datetime(2030, 6, 1, 12, tzinfo=timezone.utc)
    assert (payload["timeout"], payload["tags"], payload["invites"]) == (5, ["final"], ["proctor1"])
    assert (payload["group"], payload["lang"]) == ("g1", "en")
    assert 590 <= payload["exp"] - time.time() <= 600


def test_only_token_link_tokens_carry_the_framed_url(app, student, exam, client, auth):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    page_token = client.post(f"/api/attempts/{attempt_id}/token", headers=headers).json["token"]
    assert "url" not in tokens.decode(page_token, app.config["PROCTOR_JWT_SECRET"])
    link = client.get(f"/attempts/{attempt_id}/token-link").headers["Location"]
    link_token = link.split("token=")[1].split("&")[0]
    claims = tokens.decode(link_token, app.config["PROCTOR_JWT_SECRET"])
    assert claims["url"] == f"http://portal.test/attempts/{attempt_id}/framed"
    assert claims["identifier"] == tokens.decode(page_token, app.config["PROCTOR_JWT_SECRET"])["identifier"]


def test_minimal_payload_has_no_optional_fields(app, student, exam, client, auth):
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    student.group_name = student.lang = None
    db.session.commit()
    with app.test_request_context():
        payload = supervisor.student_payload(db.session.get(Attempt, attempt_id))
    assert "invites" not in payload and "group" not in payload
    assert payload["template"] == "default"  # PROCTOR_TEMPLATE


def test_deadline_is_the_exams_close_until_the_attempt_runs(app, student, client, auth):
    exam = add_exam(closes_at="2030-06-01T12:00:00Z")
    auth.login()
    client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
    attempt = db.session.scalar(select(Attempt))
    with app.test_request_context():
        assert supervisor.student_payload(attempt)["deadline"] == "2030-06-01T12:00:00.000Z"
    attempt.exam.closes_at = None
    with app.test_request_context():
        assert "deadline" not in supervisor.student_payload(attempt)


def test_token_endpoint_fresh_token_same_identity(client, auth, student, exam, app):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    first = client.post(f"/api/attempts/{attempt_id}/token", headers=headers).json["token"]
    time.sleep(1.1)
    second = client.post(f"/api/attempts/{attempt_id}/token", headers=headers).json["token"]
    assert first != second
    a, b = (tokens.decode(t, app.config["PROCTOR_JWT_SECRET"]) for t in (first, second))
    assert (a["username"], a["identifier"]) == (b["username"], b["identifier"])
    assert app.config["PROCTOR_JWT_SECRET"] not in client.get(f"/attempts/{attempt_id}").get_data(as_text=True)


def test_token_endpoint_needs_csrf_and_an_open_attempt(client, auth, student, exam):
    auth.login()
    attempt_id, headers = start_attempt(client, auth, exam)
    assert client.post(f"/api/attempts/{attempt_id}/token").status_code == 400  # no CSRF
    assert client.get(f"/api/attempts/{attempt_id}/token").status_code == 405
    client.post(f"/api/attempts/{attempt_id}/submit", headers=headers)
    response = client.post(f"/api/attempts/{attempt_id}/token", headers=headers)
    assert response.status_code == 409 and "already submitted" in response.json["error"]


def test_token_link_redirects_to_the_proctoring_server(client, auth, student, exam):
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    location = client.get(f"/attempts/{attempt_id}/token-link").location
    assert location.startswith("http://proctor.test/api/auth/jwt?token=ey")


def test_framed_page_may_be_framed_by_the_proctoring_origin_only(client, auth, student, exam):
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    response = client.get(f"/attempts/{attempt_id}/framed")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors http://constructor.test http://proctor.test" in csp
    assert "X-Frame-Options" not in response.headers
    assert "supervisor.js" not in response.get_data(as_text=True)  # the vendor proctors it
    normal = client.get(f"/attempts/{attempt_id}")
    assert 'src="http://proctor.test/sdk/supervisor.js"' in normal.get_data(as_text=True)
    assert normal.headers["X-Frame-Options"] == "DENY"


def test_proctor_link_is_instructor_only_and_short_lived(client, auth, student, instructor,
                                                         exam, app):
    auth.login()
    attempt_id, _ = start_attempt(client, auth, exam)
    assert client.post(f"/dashboard/attempts/{attempt_id}/proctor-link",
                       data={"csrf_token": auth.csrf("/")}).status_code == 403
    auth.logout()
    auth.login("teacher")
    response = client.post(f"/dashboard/attempts/{attempt_id}/proctor-link",
                           data={"csrf_token": auth.csrf("/login")})
    token = response.location.split("token=")[1]
    payload = tokens.decode(token, app.config["PROCTOR_JWT_SECRET"])
    assert payload["role"] == "proctor" and payload["username"] == "teacher"
    assert payload["identifier"] == db.session.get(Attempt, attempt_id).identifier
    assert payload["exp"] - time.time() <= 60


# ---- the token's URLs come from PUBLIC_URL, never from the request ------------------

FORGED_HOST = "evil.example"


def forged(client) -> None:
    """Every request of this client claims to be for another host, as a student's curl can."""
    client.environ_base["HTTP_HOST"] = FORGED_HOST


def token_urls(payload: dict) -> list[str]:
    return [payload[name] for name in ("api", "url", "referrer") if name in payload]


@pytest.mark.parametrize("public_url,base", [("https://exams.example.edu/portal", None),
                                             (None, "http://127.0.0.1:5000")])
def test_a_forged_host_changes_no_url_in_a_token(backend, tmp_path, public_url, base):
    """With PUBLIC_URL (here with a path prefix) and, in test mode, without it (the
    documented default): the token endpoint, the token link and the auto-start page."""
    from flask import url_for

    from tests.support.app import Auth, add_user, make_app

    app = make_app(backend, tmp_path, PUBLIC_URL=public_url)
    base = base or public_url
    with app.app_context():
        with app.test_request_context("/", headers={"Host": FORGED_HOST}):
            # The forged Host does reach the app: url_for would have used it.
            assert url_for("exams.attempt_page", attempt_id=1, _external=True).startswith(
                f"http://{FORGED_HOST}/")
        add_user("student1")
        exam = add_exam()
        client = app.test_client()
        forged(client)
        auth = Auth(client)
        auth.login()
        attempt_id, headers = start_attempt(client, auth, exam)
        secret = app.config["PROCTOR_JWT_SECRET"]
        fetched = tokens.decode(client.post(f"/api/attempts/{attempt_id}/token",
                                            headers=headers).json["token"], secret)
        linked = tokens.decode(client.get(f"/attempts/{attempt_id}/token-link")
                               .location.split("token=")[1], secret)
        auto_page = client.get(f"/attempts/{attempt_id}/auto").get_data(as_text=True)
        db.session.remove()
    assert fetched["api"] == f"{base}/api/proctoring/webhook"
    assert fetched["referrer"] == f"{base}/attempts/{attempt_id}"
    for payload in (fetched, linked):
        assert token_urls(payload) and all(url.startswith(base + "/") for url in token_urls(payload))
    assert FORGED_HOST not in auto_page
    assert f'{base}/attempts/{attempt_id}"' in auto_page


@pytest.mark.parametrize("public_url,base", [("http://portal.test", None),
                                             (None, "http://127.0.0.1:5000")])
def test_a_forged_host_changes_no_url_of_a_constructor_start(backend, tmp_path, public_url, base):
    from tests.support.app import Auth, add_user, make_app
    from tests.support.constructor import SECRET, constructor_exam, form_action_and_token

    app = make_app(backend, tmp_path, PUBLIC_URL=public_url)
    base = base or public_url
    with app.app_context():
        add_user("student1")
        client = app.test_client()
        forged(client)
        auth = Auth(client)
        auth.login()
        exam = constructor_exam()
        page = client.post(f"/exams/{exam.id}/start", data={"csrf_token": auth.csrf("/")})
        _, token = form_action_and_token(page.get_data(as_text=True))
        attempt_id = db.session.scalar(db.select(Attempt.id))
        db.session.remove()
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert payload["sessionUrl"] == f"{base}/attempts/{attempt_id}/framed"
    assert payload["sessionFinishUrl"] == f"{base}/attempts/{attempt_id}/result"

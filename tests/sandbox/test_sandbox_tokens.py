"""Every Supervisor token rule: POST /api/auth/<provider> answers 401 naming the problem."""
from __future__ import annotations

import base64
import json
import time

import pytest

from tests.support.sandbox import JWT_SECRET, bearer, make_token


def _unsigned(payload: dict) -> str:
    """An ``alg: none`` token, as an attacker would craft it."""
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def _auth(client, token: str, provider: str = "jwt"):
    return client.post(f"/api/auth/{provider}", headers=bearer(token))


def test_valid_token_creates_session(client):
    response = _auth(client, make_token())
    assert response.status_code == 200
    data = response.get_json()
    assert list(data) == ["token"] and len(data["token"]) >= 24
    room = client.get("/api/room/fetch", headers=bearer(data["token"])).get_json()
    assert room["id"] == "Attempt0001" and room["status"] == "created"


# Each token is made when its test runs (a token made at collection would expire while
# the suite's earlier tests run, and every case would read "token expired").
@pytest.mark.parametrize("make, message", [
    (lambda: make_token(exp=int(time.time()) - 60), "token expired"),
    (lambda: make_token(secret="another-secret-of-sufficient-length-42"), "signature verification failed"),
    (lambda: make_token(drop=("exp",)), "missing required field: exp"),
    (lambda: make_token(drop=("username",)), "missing required field: username"),
    (lambda: make_token(drop=("identifier",)), "missing required field: identifier"),
    (lambda: make_token(drop=("template",)), "missing required field: template"),
    (lambda: make_token(username="bad name!"), "username has characters outside A-Za-z0-9_-"),
    (lambda: make_token(identifier="with-dash"), "identifier has characters outside A-Za-z0-9"),
    (lambda: make_token(template="tpl_1"), "template has characters outside A-Za-z0-9"),
    (lambda: make_token(role="admin"), "role must be student or proctor"),
    (lambda: make_token(deadline="tomorrow"), "deadline is not an ISO-8601 UTC date"),
    (lambda: make_token(timeout=-1), "timeout must be a positive number of minutes"),
    (lambda: make_token(api="ftp://x"), "api must be an http(s) URL"),
    (lambda: "not-a-token", "malformed token"),
    (lambda: "", "missing token"),
], ids=["expired", "signature", "no-exp", "no-username", "no-identifier", "no-template",
        "username-chars", "identifier-chars", "template-chars", "role", "deadline", "timeout",
        "api", "garbage", "empty"])
def test_bad_tokens_are_rejected_with_the_problem_named(client, caplog, make, message):
    response = _auth(client, make())
    assert response.status_code == 401
    assert response.get_json() == {"error": message}
    assert f"token refused at /api/auth/jwt: {message}" in caplog.text


def test_expiry_has_a_small_leeway_only(client):
    assert _auth(client, make_token(exp=int(time.time()) - 2)).status_code == 200
    assert _auth(client, make_token(exp=int(time.time()) - 10)).status_code == 401


def test_alg_none_is_rejected(client):
    token = _unsigned({"exp": int(time.time()) + 60, "username": "u", "identifier": "a",
                       "template": "t"})
    response = _auth(client, token)
    assert response.status_code == 401
    assert "not allowed" in response.get_json()["error"]


def test_other_hmac_algorithm_is_rejected(client):
    token = make_token(algorithm="HS512", secret=JWT_SECRET + JWT_SECRET)
    response = _auth(client, token)
    assert response.status_code == 401
    assert response.get_json()["error"] == "algorithm 'HS512' not allowed, HS256 only"


def test_wrong_provider_is_404_json(client):
    response = _auth(client, make_token(), provider="oauth")
    assert response.status_code == 404
    assert "unknown auth provider" in response.get_json()["error"]


def test_provider_name_is_configurable(config):
    from sandbox import create_app
    config["SANDBOX_PROVIDER"] = "examjwt"
    client = create_app(config).test_client()
    assert _auth(client, make_token(), provider="examjwt").status_code == 200
    assert _auth(client, make_token(), provider="jwt").status_code == 404


def test_username_may_use_underscore_and_dash(client):
    assert _auth(client, make_token(username="a_b-C9")).status_code == 200


def test_proctor_token_cannot_open_a_student_session(client):
    token = make_token(role="proctor", drop=("identifier", "template"))
    response = _auth(client, token)
    assert response.status_code == 403


def test_bearer_scheme_is_required(client):
    response = client.post("/api/auth/jwt", headers={"Authorization": f"JWT {make_token()}"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "missing token"


def test_golden_token_decodes_with_pyjwt():
    """The contract's golden token: our understanding of HS256 matches the vendor's."""
    payload = {"username": "a34c1a1a-53ef-4728-8dc5-9c4779a8586e", "nickname": "John Doe",
               "identifier": "565b30b8-5cfb-42e2-a292-478d20630d1b", "template": "default",
               "subject": "Tutorial: proctoring", "tags": ["male"]}
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()
    expected = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImEzNGMxYTFhLTUzZWYtNDcyOC04ZGM1LTljNDc3OWE4NTg2ZSIsIm5pY2tuYW1lIjoiSm9obiBEb2UiLCJpZGVudGlmaWVyIjoiNTY1YjMwYjgtNWNmYi00MmUyLWEyOTItNDc4ZDIwNjMwZDFiIiwidGVtcGxhdGUiOiJkZWZhdWx0Iiwic3ViamVjdCI6IlR1dG9yaWFsOiBwcm9jdG9yaW5nIiwidGFncyI6WyJtYWxlIl19.Sr3fp-kzjVPZX4pvKgF7zzhIblJMA1eT7gKhJgSYIXU")
    assert expected.startswith(f"{header}.{body}.")
    # The golden token has no exp and a dash-laden identifier: a strict server refuses it.
    from sandbox.supervisor.tokens import TokenRejected, validate_claims
    with pytest.raises(TokenRejected, match="identifier has characters outside"):
        validate_claims(payload)

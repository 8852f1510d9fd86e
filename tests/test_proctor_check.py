"""`flask proctor check` against a live sandbox and a live portal."""
import pytest

from tests.support.app import make_app
from tests.support.live import serve, serve_sandbox

JWT_SECRET = "a-real-looking-jwt-secret-of-32-bytes!!"
WEBHOOK_KEY = "a-real-looking-webhook-key-of-32-bytes!"


@pytest.fixture
def live(tmp_path):
    app = make_app("sqlite", tmp_path, PROCTOR_JWT_SECRET=JWT_SECRET,
                   PROCTOR_WEBHOOK_KEY=WEBHOOK_KEY)
    portal_url, stop_portal = serve(app)
    sandbox_url, _, stop_sandbox = serve_sandbox({"SANDBOX_JWT_SECRET": JWT_SECRET})
    app.config.update(PROCTOR_URL=sandbox_url, PUBLIC_URL=portal_url)
    yield app
    stop_sandbox()
    stop_portal()


def run(app):
    result = app.test_cli_runner().invoke(args=["proctor", "check"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_all_checks_pass_against_a_matching_server(live):
    code, output = run(live)
    assert code == 0, output
    for name in ("SDK served by the proctoring server", "Secrets", "Webhook URL", "Clock",
                 "Test token"):
        assert f"PASS  {name}" in output
    assert "WARN  HTTPS: PROCTOR_URL, PUBLIC_URL on plain HTTP: fine on localhost only" in output
    assert "0 failed" in output


def test_wrong_secret_fails_the_token_check_with_a_fix(live):
    live.config["PROCTOR_JWT_SECRET"] = "another-secret-of-thirty-two-bytes-xx"
    code, output = run(live)
    assert code == 1
    assert "FAIL  Test token" in output and "Check PROCTOR_JWT_SECRET" in output


def test_demo_secrets_and_missing_public_url_fail(live):
    live.config.update(PROCTOR_WEBHOOK_KEY="demo-webhook-key-change-me-0123456789", PUBLIC_URL=None)
    code, output = run(live)
    assert code == 1
    assert "FAIL  Secrets: PROCTOR_WEBHOOK_KEY is the public demo value" in output
    assert "FAIL  Webhook URL: PUBLIC_URL is not set" in output


def test_unreachable_server(live):
    live.config["PROCTOR_URL"] = "https://127.0.0.1:9"
    code, output = run(live)
    assert code == 1
    assert "FAIL  SDK served by the proctoring server: GET https://127.0.0.1:9/sdk/supervisor.js failed" in output
    assert "FAIL  Clock" in output

import pytest

from portal import create_app
from portal.config import ConfigError, from_environment
from portal.proctoring.setup import defaults, validate_settings as validate


def settings(**values):
    return {**defaults(), **values}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PROCTOR_JWT_SECRET", "PROCTOR_WEBHOOK_KEY"])
def test_production_refuses_to_start_without_each_secret(missing):
    values = {"SECRET_KEY": "s", "PROCTOR_JWT_SECRET": "j", "PROCTOR_WEBHOOK_KEY": "k"}
    del values[missing]
    with pytest.raises(ConfigError, match=missing):
        validate(settings(**values))


def test_create_app_refuses_without_secrets(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "PROCTOR_JWT_SECRET", "PROCTOR_WEBHOOK_KEY", "PORTAL_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("flask.Config.from_pyfile", lambda *a, **k: False)
    with pytest.raises(ConfigError, match="SECRET_KEY, PROCTOR_JWT_SECRET, PROCTOR_WEBHOOK_KEY not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite"})


def test_demo_mode_fills_demo_secrets():
    result = validate(settings(PORTAL_MODE="demo"))
    assert result["SECRET_KEY"] and result["PROCTOR_JWT_SECRET"] and result["CONSTRUCTOR_JWT_SECRET"]
    assert result["PROCTOR_WEBHOOK_KEYS"] == [result["PROCTOR_WEBHOOK_KEY"]]


def test_several_webhook_keys_for_rotation():
    result = validate(settings(PORTAL_MODE="demo", PROCTOR_WEBHOOK_KEY="old-key, new-key"))
    assert result["PROCTOR_WEBHOOK_KEYS"] == ["old-key", "new-key"]


@pytest.mark.parametrize("name,value,message", [
    ("PORTAL_MODE", "staging", "PORTAL_MODE"),
    ("PROCTOR_VENDOR", "acme", "PROCTOR_VENDOR"),
    ("PROCTOR_URL", "proctor.example.com", "PROCTOR_URL"),
])
def test_bad_settings_are_named(name, value, message):
    with pytest.raises(ConfigError, match=message):
        validate(settings(**{"PORTAL_MODE": "demo", name: value}))


def test_environment_overrides_and_types():
    env = {"PROCTOR_TOKEN_TTL": "120", "PROCTOR_DEBUG_PANEL": "true", "UNRELATED": "x",
           "PROCTOR_URL": "https://proctor.example.com/"}
    result = from_environment(env)
    assert result == {"PROCTOR_TOKEN_TTL": 120, "PROCTOR_DEBUG_PANEL": True,
                      "PROCTOR_URL": "https://proctor.example.com/"}
    assert validate(settings(PORTAL_MODE="demo", **result))["PROCTOR_URL"] == "https://proctor.example.com"


def test_non_numeric_setting_is_named():
    with pytest.raises(ConfigError, match="PROCTOR_TOKEN_TTL"):
        from_environment({"PROCTOR_TOKEN_TTL": "ten minutes"})


def test_constructor_as_default_vendor_needs_its_secret():
    with pytest.raises(ConfigError, match="CONSTRUCTOR_JWT_SECRET not set"):
        validate(settings(SECRET_KEY="s", PROCTOR_JWT_SECRET="j", PROCTOR_WEBHOOK_KEY="k",
                          PROCTOR_VENDOR="constructor"))


def test_outbox_timings_come_from_the_environment():
    assert from_environment({"OUTBOX_POLL_SECONDS": "0.5", "OUTBOX_HTTP_TIMEOUT": "4"}) == {
        "OUTBOX_POLL_SECONDS": 0.5, "OUTBOX_HTTP_TIMEOUT": 4.0}


PRODUCTION_SECRETS = {"SECRET_KEY": "s", "PROCTOR_JWT_SECRET": "j", "PROCTOR_WEBHOOK_KEY": "k"}


def test_production_refuses_to_start_without_public_url():
    with pytest.raises(ConfigError) as error:
        validate(settings(**PRODUCTION_SECRETS))
    message = str(error.value)
    assert message.startswith("PUBLIC_URL not set.")
    assert "public base URL" in message and "never from the request's Host" in message


def test_create_app_refuses_without_public_url(monkeypatch, tmp_path):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    monkeypatch.delenv("PORTAL_MODE", raising=False)
    monkeypatch.setattr("flask.Config.from_pyfile", lambda *a, **k: False)
    with pytest.raises(ConfigError, match="PUBLIC_URL not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.sqlite", **PRODUCTION_SECRETS})


@pytest.mark.parametrize("mode", ["demo", "test"])
def test_demo_and_test_mode_default_public_url_is_fixed(mode):
    assert validate(settings(PORTAL_MODE=mode))["PUBLIC_URL"] == "http://127.0.0.1:5000"


def test_public_url_keeps_a_path_prefix_without_its_slash():
    result = validate(settings(**PRODUCTION_SECRETS, PUBLIC_URL="https://uni.example/exams/"))
    assert result["PUBLIC_URL"] == "https://uni.example/exams"


@pytest.mark.parametrize("value,message", [
    ("portal.example.edu", "must start with http:// or https://"),
    ("https://", "name a host"),
    ("https://portal.example.edu/?x=1", "without \\? or #"),
])
def test_a_bad_public_url_is_named(value, message):
    with pytest.raises(ConfigError, match=f"PUBLIC_URL=.*{message}"):
        validate(settings(**PRODUCTION_SECRETS, PUBLIC_URL=value))


@pytest.mark.parametrize("name", ["SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS",
                                  "LOGIN_ACCOUNT_MAX_FAILURES", "LOGIN_ACCOUNT_WINDOW_MINUTES",
                                  "LOGIN_ACCOUNT_LOCKOUT_MINUTES"])
def test_session_and_login_limits_are_positive_whole_numbers(name):
    assert from_environment({name: "7"}) == {name: 7}
    with pytest.raises(ConfigError, match=f"{name}=0 must be a whole number of at least 1"):
        validate(settings(PORTAL_MODE="demo", **{name: 0}))


def test_the_idle_lifetime_fits_in_the_absolute_one():
    with pytest.raises(ConfigError, match="SESSION_IDLE_MINUTES=180 is longer than SESSION_MAX_HOURS=2"):
        validate(settings(PORTAL_MODE="demo", SESSION_IDLE_MINUTES=180, SESSION_MAX_HOURS=2))


def test_session_defaults():
    result = validate(settings(PORTAL_MODE="demo"))
    assert (result["SESSION_IDLE_MINUTES"], result["SESSION_MAX_HOURS"]) == (120, 12)
    assert (result["LOGIN_ACCOUNT_MAX_FAILURES"], result["LOGIN_ACCOUNT_WINDOW_MINUTES"],
            result["LOGIN_ACCOUNT_LOCKOUT_MINUTES"]) == (10, 15, 15)

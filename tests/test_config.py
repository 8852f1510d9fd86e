import pytest

from portal import create_app
from portal.config import ConfigError, from_environment, validate, DEFAULTS


def settings(**values):
    return {**DEFAULTS, **values}


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

"""Proctoring joins the exam flow at app setup: it subscribes to the exams core's
signals and answers its questions (portal/exams/signals.py) through the attempt's
provider. Nothing here runs at import."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from flask import Flask

from portal import config
from portal.exams import signals
from portal.exams.models import Attempt, Exam
from portal.proctoring import providers, results


class _ByProvider:
    """The exam flow's hooks, answered by the attempt's own provider."""

    def launch(self, attempt: Attempt):
        return providers.for_vendor(attempt.vendor).launch(attempt)

    def test_page(self, attempt: Attempt):
        return providers.for_vendor(attempt.vendor).test_page(attempt)

    def confirm_start(self, attempt: Attempt, now: datetime) -> signals.StartCheck:
        return providers.for_vendor(attempt.vendor).confirm_start(attempt, now)

    def student_steps(self, vendor: str, exam: Exam) -> list[str]:
        return providers.for_vendor(vendor).student_steps(exam)


def _link_results(attempt: Attempt) -> None:
    results.link_unmatched(attempt)


def _tell_provider(attempt: Attempt) -> None:
    providers.for_vendor(attempt.vendor).attempt_closed(attempt)


def init_app(app: Flask) -> None:
    """Register every vendor (providers.discover) and its endpoints, install the hooks
    on `app` and subscribe to the signals (once per process: a module-level receiver
    connects once however many apps are made). Before the app's other blueprints."""
    providers.discover()
    for provider in providers.all_providers():
        for blueprint in provider.blueprints:
            app.register_blueprint(blueprint)
    signals.install(app, _ByProvider())
    signals.attempt_created.connect(_link_results, weak=False)
    signals.attempt_closed.connect(_tell_provider, weak=False)


def defaults() -> dict[str, Any]:
    """Every setting's default: the portal's (portal/config.py) and each vendor's."""
    providers.discover()
    merged = dict(config.DEFAULTS)
    for provider in providers.all_providers():
        merged.update(provider.settings)
    return merged


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings, the portal's and the vendors', given by environment variables."""
    providers.discover()
    names = set(config.ENV_NAMES)
    for provider in providers.all_providers():
        names |= set(provider.settings)
    return config.from_environment(environ, names)


def validate_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """config.validate, after the vendors' own checks (PROCTOR_VENDOR names a registered
    vendor; each provider's `check_settings`) and their demo secrets in demo/test mode.
    Raises config.ConfigError naming the setting."""
    providers.discover()
    names = [provider.name for provider in providers.all_providers()]
    if settings.get("PORTAL_MODE") in ("demo", "test"):
        for provider in providers.all_providers():
            for name, value in provider.demo_secrets.items():
                settings[name] = settings.get(name) or value
    if settings["PROCTOR_VENDOR"] not in names:
        raise config.ConfigError(f"PROCTOR_VENDOR must be {' or '.join(map(repr, names))}")
    for provider in providers.all_providers():
        provider.check_settings(settings)
    return config.validate(settings)

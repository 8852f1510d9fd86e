"""Proctoring joins the exam flow at app setup: it subscribes to the exams core's
signals and answers its questions (portal/exams/signals.py) through the attempt's
provider. Nothing here runs at import."""
from __future__ import annotations

from datetime import datetime

from flask import Flask

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

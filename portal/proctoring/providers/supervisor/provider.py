"""The Supervisor provider: what the portal asks of a Supervisor (ProctorEdu) server (the
facts it uses are in the package's __init__.py). Registered when imported
(providers.discover)."""
from __future__ import annotations

from datetime import datetime

from flask import redirect, url_for

from portal.core.openapi import STUDENT, Operation
from portal.exams.models import Attempt, Exam
from portal.proctoring import providers
from portal.proctoring.outbox.jobs import JobConflict
from portal.proctoring.providers import supervisor
from portal.proctoring.providers.supervisor import check, schemas, views, webhooks


class SupervisorProvider:
    """The page runs the SDK; the server reports by webhook; nothing to send or ask."""

    name = supervisor.VENDOR
    # Its endpoints: the page's (token, token link, framed page, stop and metrics
    # reports, Open as proctor) and the results webhook.
    blueprints = (views.bp, webhooks.bp)
    jobs: dict = {}
    # The default vendor of exams that name none. Its other settings (PROCTOR_*) are the
    # portal's own in portal/config.py: they predate a second vendor.
    settings = {"PROCTOR_VENDOR": supervisor.VENDOR}
    demo_secrets: dict = {}

    def check_settings(self, settings: dict) -> None:
        """Nothing more to check: portal/config.py checks the PROCTOR_* settings."""
    checks = check.CHECKS
    api_operations = (
        Operation("webhooks.supervisor_webhook", "Supervisor results delivery (contract 1.5)",
                  "deliveries", "webhookKey", schemas.DeliveryStored,
                  (400, 401, 409, 413, 415, 503), body=schemas.SupervisorDelivery, forms=True),
        Operation("proctoring.token", "A fresh Supervisor token for the attempt's SDK",
                  "exam page", STUDENT, schemas.Token, (400, 403, 404, 409)),
    )

    def api_security_schemes(self, config) -> dict:
        return {"webhookKey": {"type": "apiKey", "in": "header",
                               "name": config["PROCTOR_WEBHOOK_HEADER"],
                               "description": "PROCTOR_WEBHOOK_KEY (any of its comma-separated keys)."}}
    opens_as_proctor = True
    requeue_endpoint = None

    def protocol_link(self, attempt: Attempt) -> str:
        return supervisor.protocol_link(attempt)

    def page_origins(self, config) -> list[str]:
        return [config["PROCTOR_URL"]]

    def launch(self, attempt: Attempt):
        return redirect(url_for("exams.attempt_page", attempt_id=attempt.id))

    def test_page(self, attempt: Attempt):
        return supervisor.render_test_page(attempt, framed=False)

    def requeue(self, attempt: Attempt):
        """Raises JobConflict: the portal makes no calls to a Supervisor server."""
        raise JobConflict("This attempt's proctoring server (Supervisor) gets no calls "
                               "from the portal: there is nothing to re-queue.")

    def reconcile(self) -> None:
        """Nothing to ask: Supervisor has no status API (its webhook is the news)."""

    def worker_problems(self) -> list[str]:
        return []

    def student_steps(self, exam: Exam) -> list[str]:
        """The SDK's steps (contract §1.1): its start() always opens the webcam and the
        microphone; the rest depends on the proctoring template (`exam.proctoring_template`),
        which lives on the proctoring server, so those steps are named as possible."""
        return [
            "A webcam and a microphone, allowed for this site: the proctoring service "
            "records both for the whole test.",
            "A current Chrome, Edge or Firefox, one display, and a stable internet connection.",
            "Before the test: accept the proctoring rules, then an equipment check (browser, "
            "camera, microphone, screen, network).",
            "If the proctoring asks for them: share your entire screen (not a window or a "
            "tab), and take a photo of your face and of an ID document.",
            "Keep this page open and stay in front of the camera until you submit.",
        ]

    def attempt_closed(self, attempt: Attempt) -> None:
        """Nothing to send: the page calls stop(), and the server reports by webhook."""

    def attempt_superseded(self, attempt: Attempt) -> None:
        """Nothing to send: the session ended by the page's stop() or the server's
        deadline, and no token names its identifier again (the attempt is closed)."""

    def confirm_start(self, attempt: Attempt, now: datetime) -> providers.StartCheck:
        """Supervisor has no status API: the page's word is all there is before the
        first webhook. An attempt that closes with nothing from the server is flagged
        at once instead (dashboard/flags.py, `unconfirmed`)."""
        return providers.CONFIRMED


providers.register(SupervisorProvider())

"""The Constructor provider: what the portal asks of Constructor Proctor (the facts it
uses are in the package's __init__.py). Registered when imported (providers.discover)."""
from __future__ import annotations

from datetime import datetime

from flask import abort, redirect, render_template, url_for

from portal.config import ConfigError, base_url
from portal.core.openapi import Operation
from portal.exams.models import Attempt, Exam
from portal.proctoring import providers
from portal.proctoring.outbox.models import OutboxJob
from portal.proctoring.providers import constructor, supervisor
from portal.proctoring.providers.constructor import finish, reconcile, views


class ConstructorProvider:
    """Constructor frames the test page itself; closing enqueues the finish call."""

    name = constructor.VENDOR

    def launch(self, attempt: Attempt):
        """The auto-posting start form (static/js/autopost.js; a button without JS).

        A closed attempt goes to its result instead. 503 when the portal lacks the
        Constructor secret."""
        if not attempt.is_open:
            return redirect(url_for("exams.result", attempt_id=attempt.id))
        try:
            token = constructor.start_token(attempt)
        except constructor.NotConfigured as error:
            abort(503, description=str(error))
        return render_template("constructor/start.html", attempt=attempt, exam=attempt.exam,
                               start_url=constructor.start_url(), token=token)

    def test_page(self, attempt: Attempt):
        """An open attempt goes back through the vendor (it frames the test and resumes
        its session); a terminated one shows the portal's test page, closed."""
        if attempt.is_open:
            return self.launch(attempt)
        return supervisor.render_test_page(attempt, framed=False)

    blueprints = (views.bp,)
    opens_as_proctor = False
    requeue_endpoint = "constructor.requeue_finish"

    def protocol_link(self, attempt: Attempt) -> None:
        """None: a review carries its own link (`archive`)."""

    def page_origins(self, config) -> list[str]:
        return [config["CONSTRUCTOR_URL"]]
    jobs = {constructor.FINISH_JOB: finish.send}
    settings = {
        "CONSTRUCTOR_URL": "http://127.0.0.1:5001",
        "CONSTRUCTOR_INTEGRATION": "portal",
        "CONSTRUCTOR_JWT_SECRET": None,
        "CONSTRUCTOR_ACCOUNT_ID": "portal",
        "CONSTRUCTOR_ACCOUNT_NAME": "Exam portal",
    }
    demo_secrets = {"CONSTRUCTOR_JWT_SECRET": "demo-constructor-secret-change-me-0123456789"}

    def check_settings(self, settings: dict) -> None:
        """Raises ConfigError when Constructor is the default vendor without its secret,
        or CONSTRUCTOR_URL is not a base URL."""
        if settings["PROCTOR_VENDOR"] == constructor.VENDOR and not settings.get("CONSTRUCTOR_JWT_SECRET"):
            raise ConfigError("CONSTRUCTOR_JWT_SECRET not set, and PROCTOR_VENDOR=constructor needs it. "
                              "Set it in the environment or instance/config.py.")
        base_url(settings, "CONSTRUCTOR_URL")
    api_operations = (
        Operation("constructor.review", "Constructor Proctor review (contract 2, Result)",
                  "deliveries", "constructorJWT", views.ReviewStored,
                  (400, 401, 409, 413, 415, 503), body=constructor.ConstructorReview),
    )

    def api_security_schemes(self, config) -> dict:
        return {"constructorJWT": {"type": "apiKey", "in": "header", "name": "Authorization",
                                   "description": "`JWT <token>`: HS256 with CONSTRUCTOR_JWT_SECRET, "
                                                  "`exp` required (contract 2)."}}

    checks = ()  # none yet: `proctor check` probes Supervisor servers only

    def requeue(self, attempt: Attempt) -> OutboxJob:
        return constructor.requeue_finish(attempt)

    def reconcile(self) -> providers.ReconcileReport:
        return reconcile.run()

    def worker_problems(self) -> list[str]:
        try:
            constructor.secret()
        except constructor.NotConfigured as error:
            return [str(error)]
        return []

    def student_steps(self, exam: Exam) -> list[str]:
        """Constructor's proctor app runs its own checks before it shows the test
        (contract §2), in its window: the portal's page is framed inside it."""
        return [
            "A webcam and a microphone, allowed for the proctoring service's site.",
            "A current Chrome, Edge or Firefox and a stable internet connection.",
            "Before the test the proctoring service checks your identity (an ID document) "
            "and your computer, then shows the test in its own window.",
            "Stay in that window until you submit: the proctoring service sends you back "
            "to this portal at the end.",
        ]

    def attempt_closed(self, attempt: Attempt) -> None:
        """Enqueue the finish call in the caller's transaction (transactional outbox)."""
        constructor.enqueue_finish(attempt)

    def attempt_superseded(self, attempt: Attempt) -> None:
        """The old session is finished at the vendor through the outbox: its finish job
        (queued when it closed) is made sure of, and tried again if it had failed."""
        constructor.finish_superseded(attempt)

    def confirm_start(self, attempt: Attempt, now: datetime) -> providers.StartCheck:
        """Release the questions only once the vendor says the session started.

        A confirmation already on the attempt (an earlier call, or a review) is used as
        is: one status call per attempt, not one per request. Otherwise one status call;
        its answer is recorded (`vendor_status`, `vendor_status_at`, and
        `vendor_started_at` when it says `started`)."""
        if attempt.vendor_started_at is not None:
            return providers.CONFIRMED
        try:
            status = constructor.session_status(attempt.identifier)
        except constructor.StatusUnavailable as error:
            return providers.StartCheck(
                False, "The proctoring service could not be reached to confirm that your "
                f"session started ({error}). Wait a moment and press Retry.",
                retry=True, unreachable=True)
        attempt.vendor_status, attempt.vendor_status_at = status[:32], now
        if status == "started":
            attempt.vendor_started_at = now
            return providers.CONFIRMED
        if status in constructor.NOT_YET_STARTED:
            return providers.StartCheck(
                False, f"The proctoring service reports your session as “{status}”, not "
                "started. Finish the checks in the proctoring window, then press Retry; if "
                "this persists, go back to the exam page and press Start exam.", retry=True)
        if status == "unknown_session":
            return providers.StartCheck(
                False, "The proctoring service does not know this session. Go back to the "
                "exam page and press Start exam to start it through the proctoring service.")
        return providers.StartCheck(
            False, f"The proctoring service reports your session as “{status}”: the test "
            "cannot start. Go back to the exam page; if the exam is still open, press "
            "Start exam, else contact your instructor.")


providers.register(ConstructorProvider())

"""The proctoring vendors behind one small interface: the provider is the only vendor
switch. A provider decides what **Start exam** does, what the attempt's page is, what
must happen when an attempt closes (e.g. a finish call to the vendor, enqueued in the
same transaction), which HTTP endpoints and outbox jobs the vendor needs, and what the
outbox worker reconciles.

Each vendor is one module or package here; a package's `provider` module (a module:
itself) registers its provider when imported. `discover()` imports them all (at app
setup): the list of vendors is the registry, nothing else."""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from portal.exams.signals import CONFIRMED, StartCheck

if TYPE_CHECKING:
    from datetime import datetime

    import requests
    from flask import Blueprint, Response

    from portal.core import openapi
    from portal.exams.models import Attempt, Exam
    from portal.proctoring.check import Check
    from portal.proctoring.outbox.models import OutboxJob
    from portal.proctoring.outbox.outcomes import Outcome


# The answer to the start check is the exam flow's type (portal/exams/signals.py).
__all__ = ["CONFIRMED", "NotConfigured", "Provider", "ReconcileReport", "StartCheck",
           "all_providers", "discover", "for_vendor", "job_handler", "register"]


class NotConfigured(RuntimeError):
    """A setting the vendor needs is missing (the message names it)."""


@dataclass
class ReconcileReport:
    """What one reconciliation run did: identifiers by what happened to them."""

    recorded: dict[str, str] = field(default_factory=dict)  # identifier -> outcome
    unknown: list[str] = field(default_factory=list)  # the vendor does not know it
    errors: dict[str, str] = field(default_factory=dict)  # identifier -> error

    @property
    def asked(self) -> int:
        return len(self.recorded) + len(self.unknown) + len(self.errors)


class Provider(Protocol):
    name: str

    def launch(self, attempt: "Attempt") -> "Response | str":
        """The response to **Start exam**: the page that starts the proctored test."""

    def attempt_closed(self, attempt: "Attempt") -> None:
        """Called inside the transaction that closed the attempt."""

    def student_steps(self, exam: "Exam") -> list[str]:
        """What the proctoring will ask of the student before and during the test
        (equipment, checks), in words for the exam's intro page."""

    def attempt_superseded(self, attempt: "Attempt") -> None:
        """An instructor reopened this closed attempt: its vendor session must end for
        good (its identifier is never used again). Inside the reopen's transaction."""

    def confirm_start(self, attempt: "Attempt", now: "datetime") -> StartCheck:
        """Before the questions are released: does the vendor confirm the session
        started? May record what it learned on the attempt (`vendor_*` columns); the
        caller flushes and commits it whatever the answer."""

    def test_page(self, attempt: "Attempt") -> "Response | str":
        """The attempt's page (`GET /attempts/<id>`) while it is open, or once proctoring
        terminated it."""

    # Does the vendor offer instructors a proctor login to a session (the dashboard's
    # "Open as proctor")?
    opens_as_proctor: bool
    # The endpoint of the dashboard's re-queue button for this vendor's failed calls
    # (None: it has none).
    requeue_endpoint: str | None

    def protocol_link(self, attempt: "Attempt") -> str | None:
        """The session's protocol at the vendor when its result carried no link."""

    def page_origins(self, config: Mapping) -> list[str]:
        """The URLs (from the settings) whose origins the portal's pages load from, talk
        to, post forms to and are framed by (the Content-Security-Policy allows them)."""

    # The vendor's own HTTP endpoints (registered by the app factory).
    blueprints: "tuple[Blueprint, ...]"
    # The outbox job kinds this vendor owns, with the function that makes one try.
    jobs: "Mapping[str, Callable[[OutboxJob], Outcome]]"

    def requeue(self, attempt: "Attempt") -> "OutboxJob":
        """An instructor's retry of the attempt's failed call to the vendor. Raises
        outbox.jobs.JobConflict (the message says why) when there is none to retry."""

    def reconcile(self) -> ReconcileReport | None:
        """Ask the vendor about attempts that ended without news (the outbox worker runs
        it every OUTBOX_RECONCILE_SECONDS); None: nothing to ask. Raises NotConfigured."""

    def worker_problems(self) -> list[str]:
        """Settings that would make the outbox worker fail this vendor's jobs."""

    # The vendor's own settings with their defaults (read from instance/config.py and
    # the environment like the portal's), and the demo values of its secrets (filled in
    # demo and test mode, like portal/config.py's DEMO_SECRETS).
    settings: "Mapping[str, Any]"
    demo_secrets: "Mapping[str, str]"

    def check_settings(self, settings: dict) -> None:
        """Check the vendor's settings at app setup (normalising them in place, e.g. a
        base URL's trailing slash). Raises config.ConfigError naming the setting and how
        to fix it."""

    # The vendor's JSON endpoints as the OpenAPI document describes them (portal/api/
    # openapi.py), and the security schemes they name.
    api_operations: "tuple[openapi.Operation, ...]"

    def api_security_schemes(self, config: Mapping) -> "dict[str, Any]":
        """The OpenAPI security schemes (by name) of the vendor's endpoints."""

    # `flask proctor check`: each takes (the app's config, a requests.Session) and says
    # PASS, WARN or FAIL with how to fix it (portal/proctoring/cli.py runs them).
    checks: "Sequence[Callable[[Mapping, requests.Session], Check]]"


_registry: dict[str, Provider] = {}


def register(provider: Provider) -> None:
    """Make `provider` the one for its vendor name (each provider module registers its
    own at import; `discover` imports them)."""
    _registry[provider.name] = provider


def discover() -> None:
    """Import every vendor module or package here (its `provider` module), so each
    registers its provider. Idempotent; called at app setup, never at import."""
    for found in pkgutil.iter_modules(__path__):
        name = f"{__name__}.{found.name}" + (".provider" if found.ispkg else "")
        importlib.import_module(name)


def all_providers() -> list[Provider]:
    """The registered providers, by vendor name."""
    return [_registry[name] for name in sorted(_registry)]


def job_handler(kind: str) -> "Callable[[OutboxJob], Outcome] | None":
    """The function that makes one try of an outbox job of this kind (None: no vendor
    owns it)."""
    return next((provider.jobs[kind] for provider in all_providers() if kind in provider.jobs),
                None)


def for_vendor(name: str) -> Provider:
    """The provider of that vendor. Raises LookupError for a name none registered."""
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"unknown proctoring vendor {name!r}") from None

"""The proctoring vendors behind one small interface, so the exam flow never branches on
vendor names. A provider decides what **Start exam** does and what must happen when an
attempt closes (e.g. a finish call to the vendor, enqueued in the same transaction)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from portal.exams.signals import CONFIRMED, StartCheck

if TYPE_CHECKING:
    from datetime import datetime

    from flask import Response

    from portal.exams.models import Attempt


# The answer to the start check is the exam flow's type (portal/exams/signals.py).
__all__ = ["CONFIRMED", "Provider", "StartCheck", "for_vendor", "register"]


class Provider(Protocol):
    name: str
    # True: the test page runs in the portal, with the vendor's SDK on it (Supervisor).
    # False: the vendor frames the test page itself (Constructor), so the portal's own
    # attempt page sends an open attempt back through `launch`.
    hosts_test_page: bool

    def launch(self, attempt: "Attempt") -> "Response | str":
        """The response to **Start exam**: the page that starts the proctored test."""

    def attempt_closed(self, attempt: "Attempt") -> None:
        """Called inside the transaction that closed the attempt."""

    def confirm_start(self, attempt: "Attempt", now: "datetime") -> StartCheck:
        """Before the questions are released: does the vendor confirm the session
        started? May record what it learned on the attempt (`vendor_*` columns); the
        caller flushes and commits it whatever the answer."""


_registry: dict[str, Provider] = {}


def register(provider: Provider) -> None:
    """Make `provider` the one for its vendor name (each provider module registers its
    own at import; portal/proctoring/setup.py imports them at app setup)."""
    _registry[provider.name] = provider


def for_vendor(name: str) -> Provider:
    """The provider of that vendor. Raises LookupError for a name none registered."""
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"unknown proctoring vendor {name!r}") from None

"""The proctoring vendors behind one small interface, so the exam flow never branches on
vendor names. A provider decides what **Start exam** does and what must happen when an
attempt closes (e.g. a finish call to the vendor, enqueued in the same transaction)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from flask import Response

    from portal.exams.models import Attempt


@dataclass(frozen=True)
class StartCheck:
    """What the proctoring server says when the page reports that its session started.

    `message` (when not confirmed) tells the student what to do; `retry`: asking again
    soon may succeed (the vendor is not there yet, or unreachable); `unreachable`: the
    vendor did not answer (HTTP 503 rather than 409)."""

    confirmed: bool
    message: str = ""
    retry: bool = False
    unreachable: bool = False


CONFIRMED = StartCheck(True)


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

    def attempt_superseded(self, attempt: "Attempt") -> None:
        """An instructor reopened this closed attempt: its vendor session must end for
        good (its identifier is never used again). Inside the reopen's transaction."""

    def confirm_start(self, attempt: "Attempt", now: "datetime") -> StartCheck:
        """Before the questions are released: does the vendor confirm the session
        started? May record what it learned on the attempt (`vendor_*` columns); the
        caller flushes and commits it whatever the answer."""


_registry: dict[str, Provider] = {}


def register(provider: Provider) -> None:
    _registry[provider.name] = provider


def for_vendor(name: str) -> Provider:
    if not _registry:
        from portal.proctoring.providers import constructor, supervisor  # noqa: F401
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"unknown proctoring vendor {name!r}") from None

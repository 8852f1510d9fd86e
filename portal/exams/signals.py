"""What the exam flow tells the rest of the portal, and the one question it asks.

The exams core knows no proctoring vendor and imports no proctoring module: it sends
these signals (blinker, as Flask ships it) and asks the `ProctoringHooks` installed on
the app. `portal.proctoring.setup.init_app` subscribes and installs them at app setup,
never at import (importing `portal.exams` has no side effects). The dependency runs one
way: proctoring -> exams.

Receivers run inside the transaction that caused the signal; they add to the session
and flush, never commit (the request or command that started the change commits once).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from blinker import Namespace
from flask import current_app

if TYPE_CHECKING:
    from datetime import datetime

    from flask import Response

    from portal.exams.models import Attempt, Exam

_signals = Namespace()

# sender: the new Attempt, just flushed (a result that arrived before its attempt can
# now be linked to it).
attempt_created = _signals.signal("attempt-created")

# sender: the Attempt, just closed (submitted, expired or terminated) and graded, in the
# transaction that closed it (e.g. to enqueue a finish call to the vendor in it).
attempt_closed = _signals.signal("attempt-closed")


@dataclass(frozen=True)
class StartCheck:
    """The answer to "did the proctoring session start?", asked when the page reports
    that it did, before the questions are released.

    `message` (when not confirmed) tells the student what to do; `retry`: asking again
    soon may succeed (the proctoring server is not there yet, or unreachable);
    `unreachable`: it did not answer (HTTP 503 rather than 409)."""

    confirmed: bool
    message: str = ""
    retry: bool = False
    unreachable: bool = False


CONFIRMED = StartCheck(True)


class ProctoringHooks(Protocol):
    """What the exam flow needs from proctoring, installed per app (`install`)."""

    def launch(self, attempt: "Attempt") -> "Response | str":
        """The response to **Start exam** (the attempt is stored with the request,
        whatever this answers)."""

    def test_page(self, attempt: "Attempt") -> "Response | str":
        """The attempt's page for an attempt that is open, or closed by proctoring."""

    def confirm_start(self, attempt: "Attempt", now: "datetime") -> StartCheck:
        """Does the proctoring server confirm the session started? May record what it
        learned on the attempt; the caller flushes and commits it whatever the answer."""

    def student_steps(self, vendor: str, exam: "Exam") -> list[str]:
        """What the proctoring will ask of the student (equipment, checks), in words for
        the exam's intro page."""


_HOOKS_KEY = "portal.exams.proctoring"


def install(app, hooks: ProctoringHooks) -> None:
    """Make `hooks` the app's answer to the exam flow's questions (at app setup)."""
    app.extensions[_HOOKS_KEY] = hooks


def proctoring() -> ProctoringHooks:
    """The current app's hooks. Raises RuntimeError when none were installed (an app
    built without `create_app`): an exam must never start unproctored by accident."""
    try:
        return current_app.extensions[_HOOKS_KEY]
    except KeyError:
        raise RuntimeError("no proctoring hooks installed on this app "
                           "(portal.proctoring.setup.init_app)") from None

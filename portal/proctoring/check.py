"""One line of `flask proctor check` (portal/proctoring/cli.py runs each provider's
`checks` against the configured proctoring servers): it passes, warns, or fails with how
to fix it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Check:
    name: str
    status: str  # PASS | WARN | FAIL
    detail: str

    def line(self) -> str:
        return f"{self.status:4}  {self.name}: {self.detail}"

"""Fail a browser test on any Content-Security-Policy violation and on any console error
or uncaught page error it did not declare.

The real proctoring SDK needs a websocket and a `blob:` worker; a CSP that blocks either
breaks the stop lockout silently (the page keeps working, the events never arrive). So
every browser test collects `securitypolicyviolation` events from every frame of every
page in its context, and a test that expects an error says so with
``console_errors.allow(r"regex")``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

BINDING = "__reportCspViolation"

# Runs in every frame before its scripts; reports through a binding that Playwright
# exposes to every frame of the context (the vendor's frame included).
INIT_SCRIPT = """
(() => {
  if (window.__cspGuard) return;
  window.__cspGuard = true;
  document.addEventListener("securitypolicyviolation", (e) => {
    const report = window.%s;
    if (typeof report === "function") report({
      directive: e.effectiveDirective || e.violatedDirective, blocked: e.blockedURI,
      source: e.sourceFile, line: e.lineNumber, page: location.href, sample: e.sample});
  }, true);
})();
""" % BINDING


@dataclass
class PageGuard:
    """What went wrong in the browser during one test; ``allow`` declares expected errors."""

    violations: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Declare a console error the test provokes on purpose (a regex, searched)."""
        self.allowed.append(re.compile(pattern))

    def attach(self, context) -> None:
        context.expose_binding(BINDING, lambda source, report: self.violations.append(report))
        context.add_init_script(INIT_SCRIPT)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.errors.append(f"uncaught: {error.error}"))

    def _on_console(self, message) -> None:
        if message.type == "error":
            location = message.location or {}
            self.errors.append(f"{message.text} ({location.get('url', '?')})")

    def problems(self) -> list[str]:
        """Every CSP violation, and every console error no ``allow`` pattern matches."""
        found = [f"CSP violation: {v}" for v in self.violations]
        found += [e for e in self.errors if not any(p.search(e) for p in self.allowed)]
        return found

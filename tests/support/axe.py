"""axe-core in a Playwright page, under the page's own Content-Security-Policy.

The portal's CSP (`script-src 'self' <proctoring origin>`) blocks an inline script, so
`page.add_script_tag(content=...)` cannot load axe. `frame.evaluate(source)` runs the
script text through the DevTools protocol (`Runtime.evaluate`), which the page's CSP does
not govern: axe runs in the page as it is, with no `bypass_csp` context, so the tests
still see every CSP violation the page itself causes (tests/support/page_guard.py).

axe-core is vendored for the tests only: tests/support/vendor/axe-core/ (its README says
which version, from where).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

AXE_DIR = Path(__file__).resolve().parent / "vendor" / "axe-core"

# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's rule tags).
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
BLOCKING_IMPACTS = ("serious", "critical")

RUN = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"], iframes: false});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary,
                                html: n.html.slice(0, 200)}))}));
}"""


@lru_cache(maxsize=1)
def axe_source() -> str:
    return (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")


@dataclass
class Finding:
    """One axe rule a page fails: where (the frame's URL) and on which elements."""

    where: str
    rule: str
    impact: str
    help: str
    nodes: list[dict[str, Any]]

    def __str__(self) -> str:
        lines = [f"{self.where}: {self.rule} ({self.impact}) {self.help}"]
        lines += [f"    {n['target']}: {n['summary']}\n      {n['html']}" for n in self.nodes[:6]]
        return "\n".join(lines)


def inject(frame) -> None:
    """Load axe into `frame` (a Playwright Page or Frame) unless it is there already."""
    if not frame.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated as a script, not a function: the text is axe's UMD bundle.
        frame.evaluate(axe_source() + "\n;undefined")


def serious_findings(page, label: str = "") -> list[Finding]:
    """The serious and critical WCAG 2.2 AA violations of `page` and of each of its
    frames (each frame checked on its own: cross-origin frames included)."""
    found: list[Finding] = []
    for frame in page.frames:
        if frame.is_detached() or not frame.url.startswith("http"):
            continue
        inject(frame)
        for v in frame.evaluate(RUN, WCAG_AA_TAGS):
            if v["impact"] in BLOCKING_IMPACTS:
                found.append(Finding(f"{label} {frame.url}".strip(), v["id"], v["impact"],
                                     v["help"], v["nodes"]))
    return found


def horizontal_overflow(page) -> int:
    """How many CSS px the page scrolls sideways (0 when it reflows)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")

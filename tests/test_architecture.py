"""The portal and the sandbox meet only over HTTP: neither imports the other."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


@pytest.mark.parametrize("package,forbidden", [("portal", "sandbox"), ("sandbox", "portal")])
def test_no_imports_across(package, forbidden):
    offending = sorted((path, module) for path, module in imported_modules(package)
                       if module == forbidden or module.startswith(forbidden + "."))
    assert offending == []

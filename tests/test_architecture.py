"""The layout's rules, read from the source. The portal and the sandbox meet only over
HTTP: neither imports the other. Inside the portal, every import of every portal module
(including imports inside functions, and under TYPE_CHECKING: a cycle of types is a
cycle of knowledge), parsed with `ast`, never by importing the code.

- No cycle between the feature packages, and none between modules (inside a package or
  across it). The dependency runs site -> api/dashboard -> instructor -> proctoring ->
  exams -> auth -> core, nothing back (LAYERS).
- No vendor name outside portal/proctoring/providers/ (VENDOR_NAME_ALLOWED says what
  must stay elsewhere, and why).
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parent.parent / "portal"

# Top to bottom: a package may import only packages below it. The top-level modules
# (portal/config.py, extensions.py, db_types.py, errors.py, urls.py, ...) are the
# infrastructure every package may use; portal/__init__.py and portal/models.py gather
# every package (the app factory, the whole schema for Alembic) and are not a package.
LAYERS = [("site",), ("api", "dashboard"), ("instructor",), ("proctoring",), ("exams",), ("auth",),
          ("core",)]
PACKAGES = {name for layer in LAYERS for name in layer}
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PORTAL.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PORTAL.rglob("*.py"))}


def resolve(name: str) -> str:
    """The portal module an imported name lives in (`portal.a.b.func` -> `portal.a.b`)."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str) -> list[tuple[str, int]]:
    """(imported portal module, line) for every import statement anywhere in the module."""
    path = MODULES[module]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join(package + ([node.module] if node.module else []))
            # `from pkg import module` imports the module; `from module import name` the module.
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return [(resolve(name), line) for name, line in found
            if name.split(".")[0] == "portal" and resolve(name) != module]


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in PACKAGES) else None


def module_graph() -> dict[str, set[str]]:
    return {module: {target for target, _ in imports_of(module)} for module in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_parser_sees_imports_inside_functions_and_relative_ones():
    # The rules below are only as good as this reading of the source.
    factory_imports = {target for target, _ in imports_of("portal")}
    assert "portal.site.views" in factory_imports  # imported inside register_blueprints
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_modules():
    assert cycles(module_graph()) == []


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {name: set() for name in PACKAGES}
    for module in MODULES:
        source = package_of(module)
        for target, _ in imports_of(module):
            destination = package_of(target)
            if source and destination and source != destination:
                graph[source].add(destination)
    assert cycles(graph) == []


def test_packages_import_only_downwards():
    upward = []
    for module in MODULES:
        source = package_of(module)
        for target, line in imports_of(module):
            destination = package_of(target)
            if source and destination and source != destination and RANK[destination] <= RANK[source]:
                upward.append(f"{MODULES[module].relative_to(PORTAL.parent)}:{line} imports {target}")
    assert upward == []


def test_every_package_is_in_a_layer():
    found = {path.parent.name for path in PORTAL.glob("*/__init__.py")}
    assert found == PACKAGES


# ---- vendor names ---------------------------------------------------------------------

VENDOR_NAME = re.compile(r"supervisor|constructor", re.IGNORECASE)
PROVIDERS = PORTAL / "proctoring" / "providers"

# Portal modules outside providers/ that may name a vendor, each with its reason.
VENDOR_NAME_ALLOWED: dict[str, str] = {
    "portal/exams/importer.py": "PyYAML's add_constructor: a YAML word, not the vendor",
    "portal/exams/models.py": "VENDORS: what the CHECK on exams.vendor accepts (the database invariant, made by a migration); test_the_databases_vendors_are_the_registrys keeps it equal to the registry",
}


def vendor_names(path: Path) -> list[str]:
    """`line: token` for every identifier or string in the file that names a vendor
    (comments and docstrings are prose: they may name one)."""
    source = path.read_text(encoding="utf-8")
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                docstrings.add(body[0].lineno)
    hits = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.NAME, tokenize.STRING) and \
                token.type != getattr(tokenize, "FSTRING_MIDDLE", -1):
            continue
        if token.type == tokenize.STRING and token.start[0] in docstrings:
            continue
        if VENDOR_NAME.search(token.string):
            hits.append(f"{token.start[0]}: {token.string[:60]}")
    return hits


def test_the_vendor_name_check_reads_identifiers_and_strings_not_prose(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Supervisor and Constructor in prose."""\n'
                      "# constructor in a comment\n"
                      "from x import supervisor\n"
                      "NAME = 'CONSTRUCTOR_URL'\n", encoding="utf-8")
    assert vendor_names(sample) == ["3: supervisor", "4: 'CONSTRUCTOR_URL'"]


@pytest.mark.parametrize("module", sorted(
    name for name, path in MODULES.items() if PROVIDERS not in path.parents and path != PROVIDERS))
def test_no_vendor_name_outside_the_providers(module):
    path = MODULES[module]
    relative = str(path.relative_to(PORTAL.parent))
    if relative in VENDOR_NAME_ALLOWED:
        assert vendor_names(path), f"{relative} no longer names a vendor: drop it from the allow-list"
        return
    assert vendor_names(path) == []


def test_the_databases_vendors_are_the_registrys(app):
    # A provider registered without a migration of the CHECK on exams.vendor (or a
    # vendor removed from the registry but still accepted) fails here, not in production.
    from portal.exams.models import VENDORS
    from portal.proctoring import providers

    assert sorted(VENDORS) == [provider.name for provider in providers.all_providers()]


def test_the_allow_list_names_real_files_with_a_reason():
    for relative, reason in VENDOR_NAME_ALLOWED.items():
        assert (PORTAL.parent / relative).is_file(), relative
        assert len(reason) > 20, relative


# ---- the portal and the sandbox meet only over HTTP: neither imports the other ------

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


# ---- the exams core at run time ----------------------------------------------------------

def test_importing_the_exams_core_loads_no_proctoring_module():
    # Signals and hooks, not imports: the exam flow runs without proctoring loaded until
    # the app factory wires it in (portal/proctoring/setup.py).
    import subprocess
    import sys

    code = ("import sys, portal.exams.services, portal.exams.views; "
            "print(sorted(m for m in sys.modules if m.startswith('portal.proctoring')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PORTAL.parent, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_app_without_proctoring_hooks_refuses_to_start_an_exam():
    from flask import Flask

    from portal.exams import signals

    with Flask(__name__).app_context(), pytest.raises(RuntimeError, match="no proctoring hooks"):
        signals.proctoring()


# ---- the tests' layout: fixtures in conftest.py, helpers in tests/support/ -------------

TESTS = ROOT / "tests"


def imports_of_tests(path: Path) -> list[str]:
    """`line: module` for every import in `path` of a test module or a conftest."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            last = name.split(".")[-1]
            if name.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                found.append(f"{node.lineno}: {name}")
    return sorted(set(found))



def test_the_test_import_check_sees_test_modules_and_conftests(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from tests.conftest import make_app\n"
                      "import tests.test_webhooks\n"
                      "from tests import test_pages\n"
                      "from tests.support.app import make_app\n", encoding="utf-8")
    assert imports_of_tests(sample) == ["1: tests.conftest", "2: tests.test_webhooks",
                                       "3: tests.test_pages"]


def test_no_test_module_imports_a_test_module_or_a_conftest():
    offending = {str(path.relative_to(ROOT)): imports_of_tests(path)
                 for path in sorted(TESTS.rglob("*.py"))}
    assert {path: hits for path, hits in offending.items() if hits} == {}

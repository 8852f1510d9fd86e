"""The docs tell the truth.

- Every shell command in README.md, docs/integration-guide.md and docs/deployment.md is
  either run here, as a person would type it, and must succeed (flask CLI commands on a
  temporary database, with a live sandbox and portal for `proctor check`; `make -n` for
  make targets; openssl), or matches a rule that says why it cannot run here (root,
  systemd, a production database). A new command that matches no rule fails the test.
- The `proctor check` output printed in the guide is what the command prints.
- Every setting the code reads (portal/config.py, sandbox/config.py, gunicorn.conf.py,
  scripts/run.sh) is named in README.md or docs/, and every setting-like name in them
  exists in the code. The lists come from the code, so a setting added anywhere shows up.
- Every file path, `module.function`, `file:function` and `METHOD /path` named in
  docs/integration-guide.md exists.
"""
from __future__ import annotations

import ast
import importlib
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from portal import config as portal_config
from portal.proctoring import setup as proctoring_setup
from sandbox import config as sandbox_config
from tests.support.app import EXAM_DATA

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "integration-guide.md"
DEPLOYMENT = ROOT / "docs" / "deployment.md"
RUN_DOCS = (README, GUIDE, DEPLOYMENT)
ALL_DOCS = (README, *sorted((ROOT / "docs").glob("*.md")))
SHELL_BLOCK = re.compile(r"^ *```(?:sh|bash|shell)\n(.*?)^ *```", re.S | re.M)
TIMEOUT = 60

# Commands that cannot run on a test machine, and why. A documented command must match
# one of these or be run by test_every_documented_command_runs.
NOT_RUN_HERE = [
    (r"^apt-get ", "installs Debian packages (CI installs what the tests need)"),
    (r"^(adduser|install|chown|chmod|ln|cp|mkdir|rm|tee|cat) ", "changes the server's files as root"),
    (r"^(systemctl|journalctl) ", "needs systemd"),
    (r"^(pg_dump|pg_restore|psql|createdb|createuser|dropdb) ", "needs the server's PostgreSQL "
     "(the suite's PostgreSQL leg covers the schema)"),
    (r"^nginx -t$", "tests/test_deploy_nginx.py runs `nginx -t` on deploy/nginx/portal.conf"),
    (r"^certbot ", "needs a public host name"),
    (r"^mkcert ", "mkcert is not installed here"),
    (r"^git ", "needs the network and a checkout of its own"),
    (r"^(python3 -m venv|\S*\.venv/bin/pip) ", "installs from PyPI"),
    (r"^(ssh|curl|redis-cli) ", "talks to a deployed server"),
]

# Placeholders in documented commands, and what the test puts there.
PLACEHOLDERS = {
    "NAME [--role instructor]": "docsuser --role instructor",
    "password NAME": "password docsuser",
    "unlock NAME": "unlock docsuser",
    "users.csv": "{tmp}/users.csv",
    "exam.yaml": "{tmp}/exam.yaml",
}


def shell_commands(path: Path) -> list[str]:
    """The commands of a document's sh/bash blocks: continuation lines joined, comments
    (`#` at the start, or after two spaces) and blank lines dropped."""
    commands = []
    for block in SHELL_BLOCK.findall(path.read_text(encoding="utf-8")):
        for command in re.sub(r"\\\n\s*", " ", block).splitlines():
            command = re.sub(r"\s{2,}#.*$", "", command).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def documented_commands() -> list[tuple[str, str]]:
    return [(path.name, command) for path in RUN_DOCS for command in shell_commands(path)]


def _bare(command: str) -> str:
    """The command without `sudo` or `sudo -u USER` in front."""
    return re.sub(r"^sudo (-u \w+ )?", "", command)


def why_not_run(command: str) -> str | None:
    for pattern, reason in NOT_RUN_HERE:
        if re.search(pattern, _bare(command)):
            return reason
    return None


# ---- running them ------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A sandbox and a portal on loopback, sharing random (non-demo) secrets, over a
    temporary database: what `make run` serves, on other ports."""
    from portal import create_app
    from tests.support.live import serve, serve_sandbox

    tmp = tmp_path_factory.mktemp("docs")
    jwt_secret, webhook_key, constructor_secret = (secrets.token_urlsafe(32) for _ in range(3))
    sandbox_url, _, stop_sandbox = serve_sandbox({
        "SANDBOX_JWT_SECRET": jwt_secret, "SANDBOX_WEBHOOK_KEY": webhook_key,
        "SANDBOX_CONSTRUCTOR_SECRET": constructor_secret})
    database = f"sqlite:///{tmp / 'portal.sqlite'}"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROCTOR_", "CONSTRUCTOR_", "OUTBOX_", "PROXY_FIX_", "SESSION_",
                                  "RATELIMIT_", "LOGIN_", "LOG_", "PUBLIC_URL", "DATABASE_URL",
                                  "SECRET_KEY", "PORTAL_", "SANDBOX_"))}
    env.update({"PATH": f"{BIN}:{env.get('PATH', '')}", "PORTAL_MODE": "demo",
                "SECRET_KEY": secrets.token_hex(32), "PROCTOR_JWT_SECRET": jwt_secret,
                "PROCTOR_WEBHOOK_KEY": webhook_key, "CONSTRUCTOR_JWT_SECRET": constructor_secret,
                "DATABASE_URL": database, "PROCTOR_URL": sandbox_url,
                "CONSTRUCTOR_URL": sandbox_url})
    portal = create_app({"PORTAL_MODE": "demo", "SECRET_KEY": env["SECRET_KEY"],
                         "PROCTOR_JWT_SECRET": jwt_secret, "PROCTOR_WEBHOOK_KEY": webhook_key,
                         "SQLALCHEMY_DATABASE_URI": database, "PROCTOR_URL": sandbox_url})
    portal_url, stop_portal = serve(portal, "docs-portal")
    env["PUBLIC_URL"] = portal_url
    (tmp / "users.csv").write_text("username,password,role\ncsvuser,password1,student\n")
    (tmp / "exam.yaml").write_text(yaml.safe_dump({**EXAM_DATA, "slug": "docs-exam"}))
    yield {"env": env, "tmp": tmp, "sandbox_url": sandbox_url, "portal_url": portal_url,
           "portal": portal}
    stop_portal()
    stop_sandbox()
    from portal.extensions import db
    with portal.app_context():
        db.engine.dispose()


def _localise(command: str, live: dict) -> str:
    """The documented command with this test's ports, files and placeholder values."""
    command = command.replace("http://127.0.0.1:5000", live["portal_url"])
    command = command.replace("http://127.0.0.1:5001", live["sandbox_url"])
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value.format(tmp=live["tmp"]))
    return re.sub(r"(^|\s|\|\s*)\.venv/bin/", r"\1", command)


def run_command(command: str, live: dict) -> subprocess.CompletedProcess:
    """Run one documented command the way its kind needs; raise AssertionError on failure."""
    command = _localise(command, live)
    env = dict(live["env"])
    assignments = re.match(r"^((?:[A-Z_]+=\S+ )*)(.*)$", command)
    if re.match(r"^make \w[\w-]*$", assignments.group(2)):
        # Dry run: the target exists and its recipe expands (it would install and serve).
        env.update(word.split("=", 1) for word in assignments.group(1).split())
        args, shell = ["make", "-n", assignments.group(2).split()[1]], False
    elif command.endswith("outbox work"):
        return _run_until_sigterm(shlex.split(command), env)
    elif command.startswith("sudo -u portal portal-flask "):
        env_file = _production_env_file(live)
        env.update({"PORTAL_ENV_FILE": str(env_file), "PORTAL_HOME": str(ROOT),
                    "PORTAL_VENV": str(BIN.parent)})
        args, shell = [str(ROOT / "deploy" / "portal-flask"), *shlex.split(command)[4:]], False
    else:
        args, shell = command, True
    stdin = "pw-docs-1234\npw-docs-1234\n" if re.search(r"users (create|password) ", command) else None
    # openssl writes its files where it runs: the test's directory, not the repository.
    cwd = live["tmp"] if command.startswith("openssl ") else ROOT
    done = subprocess.run(args, shell=shell, executable="/bin/bash" if shell else None, cwd=cwd,
                          env=env, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, f"{command!r} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _run_until_sigterm(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """A long-running worker: once it says it started it must keep running, then exit 0
    on SIGTERM (graceful)."""
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while not any("started" in line for line in lines):
            assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        time.sleep(1)
        assert process.poll() is None, "".join(lines)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    reader.join(timeout=5)
    out = process.stdout.read()
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == 0, f"{args} exited {process.returncode} on SIGTERM:\n{''.join(lines)}"
    return subprocess.CompletedProcess(args, 0, out, "".join(lines))


def _production_env_file(live: dict) -> Path:
    """deploy/portal.env.example with this test's secrets, database and servers."""
    env = live["env"]
    values = {"SECRET_KEY": env["SECRET_KEY"], "PROCTOR_JWT_SECRET": env["PROCTOR_JWT_SECRET"],
              "PROCTOR_WEBHOOK_KEY": env["PROCTOR_WEBHOOK_KEY"], "PUBLIC_URL": live["portal_url"],
              "PROCTOR_URL": live["sandbox_url"], "DATABASE_URL": env["DATABASE_URL"],
              "RATELIMIT_STORAGE_URI": "memory://"}
    text = (ROOT / "deploy" / "portal.env.example").read_text()
    for name, value in values.items():
        text, count = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
        assert count == 1, f"deploy/portal.env.example should set {name} once"
    path = live["tmp"] / "portal.env"
    path.write_text(text)
    return path


def test_the_docs_have_commands_and_each_is_run_or_explained():
    commands = documented_commands()
    assert {name for name, _ in commands} == {p.name for p in RUN_DOCS}, "a guide lost its commands"
    unknown = [f"{name}: {command}" for name, command in commands
               if why_not_run(command) is None and not _runnable(command)]
    assert not unknown, ("commands the docs give that this test neither runs nor explains "
                         "(add a rule to NOT_RUN_HERE, or make them runnable):\n" + "\n".join(unknown))


def _runnable(command: str) -> bool:
    command = re.sub(r"^(\w+=\S+ )+", "", command)  # VAR=value prefixes
    return bool(re.match(r"^(\.venv/bin/)?flask --app wsgi |^make \w|^echo .*\| (\.venv/bin/)?flask "
                         r"--app wsgi |^openssl |^sudo -u portal portal-flask ", command))


def test_every_documented_command_runs(live):
    ran = []
    for name, command in documented_commands():
        if why_not_run(command) is None and _runnable(command):
            run_command(command, live)
            ran.append(command)
    assert any("db upgrade" in c for c in ran) and any("proctor check" in c for c in ran)
    assert any(c.startswith("sudo -u portal portal-flask") for c in ran)


def test_the_guide_shows_what_proctor_check_prints(live):
    """The guide's expected output block (after `<!-- proctor check output -->`) is what
    `proctor check` prints against the sandbox of `make run`, up to the port numbers."""
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(r"<!-- proctor check output -->\s*```text\n(.*?)```", text, re.S)
    assert match, "docs/integration-guide.md lost its proctor check output block"
    command = next(c for _, c in documented_commands() if c.endswith("proctor check")
                   and "PUBLIC_URL=" in c)
    printed = run_command(command, live).stdout

    def normal(lines: str) -> list[str]:
        return [re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line) for line in lines.strip().splitlines()]

    assert normal(printed) == normal(match.group(1))


def inline_commands() -> list[tuple[str, str]]:
    """`flask --app wsgi ...` and `make ...` named in running text (not in a block)."""
    found = []
    for path in RUN_DOCS:
        text = re.sub(r"^ *```.*?^ *```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
        for span in CODE_SPAN.findall(text):
            if re.match(r"(\.venv/bin/)?flask --app wsgi |make [a-z]", span):
                found.append((path.name, span))
    return found


def test_every_command_named_in_the_text_exists(app):
    """Inline commands often carry placeholders (`<attempt id>`), so they are not run:
    each command, subcommand and option they name must exist (make targets: `make -n`)."""
    import click
    from flask.cli import FlaskGroup, ScriptInfo

    spans = inline_commands()
    assert len(spans) >= 5, spans
    group = FlaskGroup(create_app=lambda: app)
    context = click.Context(group, obj=ScriptInfo(create_app=lambda: app))
    problems = []
    for name, span in spans:
        words = span.split()
        if words[0] == "make":
            done = subprocess.run(["make", "-n", words[1]], cwd=ROOT, capture_output=True, text=True,
                                  timeout=TIMEOUT)
            if done.returncode:
                problems.append(f"{name}: {span}: {done.stderr.strip()}")
            continue
        command: click.Command | None = group
        options = []
        for word in words[3:]:
            if word.startswith("--"):
                options.append(word.split("=")[0])
            elif re.fullmatch(r"[a-z][\w-]*", word) and isinstance(command, click.Group):
                command = command.get_command(context, word)
                if command is None:
                    break
        if command is None or command is group:
            problems.append(f"{name}: {span}: no such command")
            continue
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        problems += [f"{name}: {span}: no option {o}" for o in options if o not in known]
    assert not problems, "\n".join(problems)


# ---- settings ----------------------------------------------------------------------

SETTING_NAME = re.compile(
    r"\b(?:PORTAL|PROCTOR|CONSTRUCTOR|OUTBOX|SANDBOX|PROXY_FIX|LOG|SESSION|RATELIMIT|LOGIN|"
    r"VERDICT|PUBLIC|DATABASE|SECRET|MAX_CONTENT|GUNICORN|WEB)_[A-Z0-9_]*[A-Z0-9]\b")

# Names the docs may use that are not settings the portal reads, and why.
NOT_SETTINGS = {
    "SESSION_COOKIE_SAMESITE": "Flask's own; the portal derives it from SESSION_COOKIE_SECURE",
    "RATELIMIT_ENABLED": "Flask-Limiter's own switch; the portal leaves it on (tests turn it off)",
    "PROCTOR_WEBHOOK_KEYS": "derived from PROCTOR_WEBHOOK_KEY by portal/config.py",
    "PORTAL_ENV_FILE": "read by deploy/portal-flask (the wrapper), not by the portal",
    "PORTAL_HOME": "read by deploy/portal-flask (the wrapper), not by the portal",
    "PORTAL_VENV": "read by deploy/portal-flask (the wrapper), not by the portal",
}

def code_settings() -> set[str]:
    """Every setting the code reads: the portal's and the sandbox's settings modules,
    the environment names gunicorn.conf.py reads and those scripts/run.sh defaults."""
    names = set(proctoring_setup.defaults()) | set(portal_config.ENV_NAMES) | set(sandbox_config.DEFAULTS)
    gunicorn_conf = (ROOT / "gunicorn.conf.py").read_text()
    names |= set(re.findall(r"os\.environ\.get\(\"([A-Z_]+)\"", gunicorn_conf))
    names |= set(re.findall(r"\$\{([A-Z_]+):-", (ROOT / "scripts" / "run.sh").read_text()))
    return names


def docs_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in ALL_DOCS)


def test_every_setting_in_the_code_is_documented():
    text = docs_text()
    missing = sorted(name for name in code_settings() if not re.search(rf"\b{name}\b", text))
    assert not missing, f"settings the code reads that no doc names: {missing}"


def test_every_setting_in_the_docs_exists_in_the_code():
    known = code_settings() | set(NOT_SETTINGS)
    named = set(SETTING_NAME.findall(docs_text()))
    named |= set(SETTING_NAME.findall((ROOT / "deploy" / "portal.env.example").read_text()))
    unknown = sorted(named - known)
    assert not unknown, f"the docs name settings the code does not have: {unknown}"


# ---- the guide's references ----------------------------------------------------------

CODE_SPAN = re.compile(r"`([^`\n]+)`")
TOP_LEVEL_FILES = {"Makefile", "README.md", "wsgi.py", "gunicorn.conf.py", "requirements.txt",
                   "requirements-dev.txt", "pytest.ini"}


def guide_spans() -> list[str]:
    text = re.sub(r"^ *```.*?^ *```", "", GUIDE.read_text(encoding="utf-8"), flags=re.S | re.M)
    return CODE_SPAN.findall(text)


def _is_path(span: str) -> bool:
    return span in TOP_LEVEL_FILES or bool(
        re.fullmatch(r"(portal|sandbox|tests|deploy|docs|migrations|scripts|bench|\.ci)/[\w./-]*", span))


def test_every_path_in_the_guide_exists():
    paths = [span for span in guide_spans() if _is_path(span)]
    assert len(paths) >= 20, paths
    missing = sorted({p for p in paths if not (ROOT / p).exists()})
    assert not missing, f"docs/integration-guide.md names paths that do not exist: {missing}"


def _python_defines(path: Path, dotted: str) -> bool:
    """Whether the module file defines `Name` or `Class.method` (read, not imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scope: list[ast.stmt] = tree.body
    for part in dotted.split("."):
        found = None
        for node in scope:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == part:
                found = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == part for t in targets):
                    found = node
        if found is None:
            return False
        scope = getattr(found, "body", [])
    return True


def _resolves(dotted: str) -> bool:
    """`portal.pkg.module.name[.attr]`: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        obj = module
        for attribute in parts[cut:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


def test_every_function_in_the_guide_exists():
    spans = [s.removesuffix("()") for s in guide_spans()]
    dotted = [s for s in spans if re.fullmatch(r"(portal|sandbox)(\.\w+){2,}", s)]
    in_files = [s for s in spans if re.fullmatch(r"[\w./-]+\.(py|js):[\w.]+", s)]
    assert len(dotted) + len(in_files) >= 30, (dotted, in_files)
    missing = sorted({s for s in dotted if not _resolves(s)})
    for span in sorted(set(in_files)):
        path, name = span.split(":")
        file = ROOT / path
        if not file.exists():
            missing.append(span)
        elif path.endswith(".py") and not _python_defines(file, name):
            missing.append(span)
        elif path.endswith(".js") and not re.search(
                rf"\bfunction {re.escape(name)}\b|\b{re.escape(name)}\s*[:=]\s*(async\s+)?function\b"
                rf"|^\s*(async\s+)?{re.escape(name)}\s*\([^)]*\)\s*\{{", file.read_text(), re.M):
            missing.append(span)
    assert not missing, f"docs/integration-guide.md names functions that do not exist: {missing}"


def test_every_portal_endpoint_in_the_guide_exists(app):
    rules = [(re.sub(r"<[^>]+>", "<x>", rule.rule), rule.methods) for rule in app.url_map.iter_rules()]
    named = [s.split(" ", 1) for s in guide_spans() if re.fullmatch(r"(GET|POST|PUT|DELETE) /\S*", s)]
    assert len(named) >= 10, named
    missing = []
    for method, path in named:
        shape = re.sub(r"<[^>]+>", "<x>", path.split("?")[0])
        if not any(rule == shape and method in methods for rule, methods in rules):
            missing.append(f"{method} {path}")
    assert not missing, f"docs/integration-guide.md names portal endpoints that do not exist: {missing}"

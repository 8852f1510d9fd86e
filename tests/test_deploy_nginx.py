"""The deployment of docs/deployment.md, for real: the portal under gunicorn (with
gunicorn.conf.py) behind nginx (deploy/nginx/portal.conf) over HTTPS.

The site file is used as shipped; only its host names, ports and file paths are replaced
(a throw-away self-signed certificate, loopback ports, a temporary directory). Through
the proxy: cookies are `Secure; SameSite=None`, redirects stay on the public https
address, a token's `api` is the https PUBLIC_URL, the CSP arrives as the app made it,
Flask-WTF's HTTPS referrer check passes (the app sees the scheme, host and port the
visitor used), and X-Forwarded-For is trusted exactly once.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from requests.adapters import HTTPAdapter
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import create_app
from portal.config import ConfigError
from portal.logs import JsonFormatter
from tests.support.app import BASE_CONFIG, EXAM_DATA

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl")
SITE = ROOT / "deploy" / "nginx" / "portal.conf"
PUBLIC_NAME = "localhost"
# The client's own loopback address: distinct from nginx's (127.0.0.1), so the address
# the portal records tells "trusted once" from "not trusted" and "trusted twice".
CLIENT_ADDR = "127.0.0.2"
WEBHOOK_KEY = "deploy-test-webhook-key-0123456789abcdef"
STEP_TIMEOUT = 30

needs_nginx = pytest.mark.skipif(
    not (os.path.exists(NGINX) and OPENSSL),
    reason="nginx or openssl not installed (apt-get install nginx openssl)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=STEP_TIMEOUT, **kw)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def site_config(tmp: Path, https_port: int, http_port: int, app_port: int) -> str:
    """deploy/nginx/portal.conf with this test's names, ports and paths."""
    text = SITE.read_text()
    replacements = {  # in this order: the certificate paths contain the host name
        "/etc/letsencrypt/live/portal.example.org/fullchain.pem": str(tmp / "cert.pem"),
        "/etc/letsencrypt/live/portal.example.org/privkey.pem": str(tmp / "key.pem"),
        "portal.example.org": PUBLIC_NAME,
        "/var/log/nginx/exam-portal.access.log": str(tmp / "access.log"),
        "127.0.0.1:8000": f"127.0.0.1:{app_port}",
        "/var/www/html": str(tmp),
    }
    for old, new in replacements.items():
        assert old in text, f"{SITE.name} no longer names {old}"
        text = text.replace(old, new)
    # Loopback ports instead of 80/443; no IPv6 listeners (the test talks over IPv4).
    text = re.sub(r"^\s*listen \[::\]:\d+.*\n", "", text, flags=re.M)
    text = re.sub(r"listen 443\b", f"listen 127.0.0.1:{https_port}", text)
    text = re.sub(r"listen 80\b", f"listen 127.0.0.1:{http_port}", text)
    assert "listen 443" not in text and "listen 80" not in text
    return text


def main_config(tmp: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around a site, in `tmp`."""
    temp = "\n".join(f"    {kind}_temp_path {tmp / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read tmp (0700)
    return (f"{user}worker_processes 1;\npid {tmp / 'nginx.pid'};\n"
            f"error_log {tmp / 'error.log'} warn;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n{temp}\n    access_log off;\n    include {site};\n}}\n")


def _wait_for(url: str, process: subprocess.Popen, **kw) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate(timeout=5)
        try:
            if requests.get(url, timeout=2, **kw).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {STEP_TIMEOUT} s")


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.communicate(timeout=STEP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate(timeout=5)


def _log_entries(path: Path, wanted) -> list[dict]:
    """The JSON lines of a log that match `wanted`, waiting up to 5 s for one: nginx
    writes its line once the response is sent, so it may come just after the answer."""
    deadline = time.monotonic() + 5
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        entries = [e for e in (json.loads(line) for line in lines if line.startswith("{")) if wanted(e)]
        if entries or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


class FromAddress(HTTPAdapter):
    """Connect from a given local address (here a second loopback address)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """gunicorn (gunicorn.conf.py, PORTAL_BIND, WEB_CONCURRENCY) behind nginx over HTTPS,
    on a migrated temporary SQLite database with one student and one exam."""
    tmp = tmp_path_factory.mktemp("deploy")
    https_port, http_port, app_port = _free_port(), _free_port(), _free_port()
    public_url = f"https://{PUBLIC_NAME}:{https_port}"
    _run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
          "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem"),
          "-subj", f"/CN={PUBLIC_NAME}", "-addext", f"subjectAltName=DNS:{PUBLIC_NAME}"],
         env=dict(os.environ))

    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROCTOR_", "CONSTRUCTOR_", "OUTBOX_", "PROXY_FIX_", "SESSION_",
                                  "GUNICORN_", "RATELIMIT_", "LOGIN_", "LOG_"))}
    env.update({
        "PATH": f"{BIN}:{env.get('PATH', '')}",
        "PORTAL_MODE": "production",
        "SECRET_KEY": "deploy-test-secret-key-0123456789abcdef",
        "PROCTOR_JWT_SECRET": "deploy-test-proctor-jwt-secret-0123456789",
        "PROCTOR_WEBHOOK_KEY": WEBHOOK_KEY,
        "PROCTOR_URL": "https://proctor.example.com",
        "CONSTRUCTOR_URL": "https://constructor.example.com",
        "DATABASE_URL": f"sqlite:///{tmp / 'portal.sqlite'}",
        "PUBLIC_URL": public_url,
        "SESSION_COOKIE_SECURE": "1",
        "PROXY_FIX_X_FOR": "1", "PROXY_FIX_X_PROTO": "1",
        "PROXY_FIX_X_HOST": "1", "PROXY_FIX_X_PORT": "1",
        "LOG_FORMAT": "json",
        "PORTAL_BIND": f"127.0.0.1:{app_port}",
        "WEB_CONCURRENCY": "2",
    })
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    # Migrations first, once, before any worker starts (docs/deployment.md).
    _run(flask + ["db", "upgrade"], env)
    _run(flask + ["users", "create", "student1", "--password", "password1"], env)
    exam_file = tmp / "exam.json"
    exam_file.write_text(json.dumps(EXAM_DATA))
    _run(flask + ["exams", "import", str(exam_file)], env)

    site = tmp / "site.conf"
    site.write_text(site_config(tmp, https_port, http_port, app_port))
    conf = tmp / "nginx.conf"
    conf.write_text(main_config(tmp, site))
    nginx_args = [NGINX, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)]
    tested = _run(nginx_args + ["-t"], env)
    assert "test is successful" in tested.stderr, tested.stderr

    gunicorn_log = open(tmp / "gunicorn.log", "w")
    gunicorn = subprocess.Popen([str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"],
                                cwd=ROOT, env=env, stdout=gunicorn_log, stderr=subprocess.STDOUT,
                                text=True)
    nginx = None
    try:
        _wait_for(f"http://127.0.0.1:{app_port}/healthz", gunicorn)
        nginx = subprocess.Popen(nginx_args + ["-g", "daemon off;"], cwd=tmp, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(public_url + "/healthz", nginx, verify=str(tmp / "cert.pem"))
        yield {"public_url": public_url, "app_url": f"http://127.0.0.1:{app_port}",
               "http_url": f"http://127.0.0.1:{http_port}", "tmp": tmp,
               "cert": str(tmp / "cert.pem"), "database": tmp / "portal.sqlite"}
    finally:
        if nginx is not None:
            _stop(nginx, signal.SIGQUIT)  # graceful: finish open requests, then exit
        _stop(gunicorn)
        gunicorn_log.close()


@pytest.fixture
def visitor(deployment):
    """A requests session that talks to nginx from CLIENT_ADDR, trusting the test's certificate."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the test's certificate
    session.verify = deployment["cert"]
    session.mount("https://", FromAddress(CLIENT_ADDR))
    yield session
    session.close()


def _csrf(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _login(visitor, public_url: str, next_path: str):
    page = visitor.get(f"{public_url}/login", params={"next": next_path}, timeout=10)
    return page, visitor.post(page.url, data={"username": "student1", "password": "password1",
                                              "csrf_token": _csrf(page.text)},
                              headers={"Referer": page.url}, allow_redirects=False, timeout=10)


@needs_nginx
def test_nginx_accepts_the_site_and_healthz_answers_through_it(deployment, visitor):
    response = visitor.get(deployment["public_url"] + "/healthz", timeout=10)
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    (line, *_) = _log_entries(deployment["tmp"] / "access.log", lambda e: e["uri"] == "/healthz")
    assert line["status"] == 200 and re.fullmatch(r"[0-9a-f]{32}", line["request_id"])


@needs_nginx
def test_plain_http_redirects_to_https(deployment):
    response = requests.get(deployment["http_url"] + "/login?next=/x", allow_redirects=False,
                            headers={"Host": PUBLIC_NAME}, timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{PUBLIC_NAME}/login?next=/x"


@needs_nginx
def test_cookies_are_secure_and_samesite_none(deployment, visitor):
    response = visitor.get(deployment["public_url"] + "/login", timeout=10)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "; Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie


@needs_nginx
def test_redirects_stay_on_the_public_https_address(deployment, visitor):
    """Anonymous -> the login page with `next`; the login -> back to `next`: every
    Location, resolved as a browser would, is on the public https address."""
    public_url = deployment["public_url"]
    response = visitor.get(public_url + "/exams/1", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    login_url = urljoin(public_url + "/exams/1", response.headers["Location"])
    assert login_url == f"{public_url}/login?next=%2Fexams%2F1"

    page = visitor.get(login_url, timeout=10)
    response = visitor.post(page.url, data={"username": "student1", "password": "password1",
                                            "csrf_token": _csrf(page.text)},
                            headers={"Referer": page.url}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    assert urljoin(page.url, response.headers["Location"]) == f"{public_url}/exams/1"


@needs_nginx
def test_https_form_posts_need_a_same_origin_referer(deployment, visitor):
    """Flask-WTF checks the Referer on HTTPS only: a refusal without it proves the app
    knows the request came over HTTPS; the success in the test above, that it knows the
    public host and port (it compares the Referer with https://<host>/)."""
    page = visitor.get(deployment["public_url"] + "/login", timeout=10)
    response = visitor.post(page.url, data={"username": "student1", "password": "password1",
                                            "csrf_token": _csrf(page.text)},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert "referrer" in response.text.lower()


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@needs_nginx
def test_a_token_points_the_vendor_at_the_https_public_url(deployment, visitor):
    public_url = deployment["public_url"]
    _login(visitor, public_url, "/")
    home = visitor.get(public_url + "/", timeout=10)
    exam_path = re.search(r'href="(/exams/\d+)"', home.text).group(1)
    exam_page = visitor.get(public_url + exam_path, timeout=10)
    started = visitor.post(public_url + exam_path + "/start",
                           data={"csrf_token": _csrf(exam_page.text)},
                           headers={"Referer": exam_page.url}, allow_redirects=False, timeout=10)
    assert started.status_code == 302, started.text
    attempt_url = urljoin(exam_page.url, started.headers["Location"])
    assert attempt_url.startswith(public_url + "/attempts/")
    attempt = visitor.get(attempt_url, timeout=10)
    token = visitor.post(f"{public_url}/api/attempts/{attempt_url.rsplit('/', 1)[1]}/token",
                         headers={"X-CSRFToken": _csrf(attempt.text), "Referer": attempt.url,
                                  "Accept": "application/json"}, timeout=10)
    assert token.status_code == 200, token.text
    payload = _payload(token.json()["token"])
    assert payload["api"] == public_url + "/api/proctoring/webhook"
    assert payload["referrer"].startswith(public_url + "/attempts/")


@needs_nginx
def test_the_csp_arrives_as_the_app_made_it(deployment, visitor):
    through_proxy = visitor.get(deployment["public_url"] + "/login", timeout=10).headers
    direct = requests.get(deployment["app_url"] + "/login", timeout=10).headers
    assert through_proxy["Content-Security-Policy"] == direct["Content-Security-Policy"]
    csp = through_proxy["Content-Security-Policy"]
    assert "script-src 'self' https://constructor.example.com https://proctor.example.com" in csp
    assert "frame-ancestors 'none'" in csp
    assert through_proxy["X-Frame-Options"] == "DENY"  # once: nginx adds none of its own
    assert through_proxy["X-Content-Type-Options"] == "nosniff"


@needs_nginx
def test_x_forwarded_for_is_trusted_exactly_once(deployment, visitor):
    """A client's own X-Forwarded-For entry is kept in the header but never taken as its
    address: the portal records the address nginx saw (CLIENT_ADDR), not the forged one
    (trusted twice) nor nginx's (not trusted)."""
    response = visitor.post(deployment["public_url"] + "/api/proctoring/webhook",
                            json={"identifier": "deploycheck0000000000001", "status": "stopped"},
                            headers={"X-Api-Key": WEBHOOK_KEY, "X-Forwarded-For": "203.0.113.9",
                                     "X-Request-Id": "forged"}, timeout=10)
    assert response.status_code == 200, response.text
    with sqlite3.connect(deployment["database"]) as database:
        (headers,) = database.execute(
            "SELECT headers FROM webhook_deliveries WHERE identifier = ?",
            ("deploycheck0000000000001",)).fetchone()
    headers = json.loads(headers)
    assert headers["Remote-Addr"] == CLIENT_ADDR
    assert headers["X-Forwarded-For"] == f"203.0.113.9, {CLIENT_ADDR}"
    request_id = headers["X-Request-Id"]
    assert request_id != "forged" and re.fullmatch(r"[0-9a-f]{32}", request_id)

    # One id through nginx's JSON access log, the portal's JSON log and the delivery log.
    (access,) = _log_entries(deployment["tmp"] / "access.log", lambda e: e["request_id"] == request_id)
    assert access["uri"] == "/api/proctoring/webhook" and access["status"] == 200
    (entry,) = _log_entries(deployment["tmp"] / "gunicorn.log", lambda e: e.get("request_id") == request_id)
    assert entry["logger"] == "portal.proctoring.webhooks" and entry["path"] == "/api/proctoring/webhook"
    assert "identifier=deploycheck0000000000001" in entry["message"]


@needs_nginx
def test_an_oversized_delivery_gets_the_portals_own_413(deployment, visitor):
    """nginx lets bodies a little over MAX_CONTENT_LENGTH through, so the sender gets the
    portal's JSON answer (and the delivery log its record), not nginx's HTML page."""
    response = visitor.post(deployment["public_url"] + "/api/proctoring/webhook",
                            data=b'{"identifier": "' + b"x" * 1_200_000 + b'"}',
                            headers={"X-Api-Key": WEBHOOK_KEY, "Content-Type": "application/json"},
                            timeout=30)
    assert response.status_code == 413
    assert response.json()["error"] == "The body is over 1 MiB; not stored."


# ---- local HTTPS for the demo (deploy/nginx/local-https.conf) ---------------------------

@needs_nginx
def test_the_local_https_site_serves_the_portal_and_the_sdk(tmp_path):
    """The guide's local HTTPS recipe: the portal and the sandbox behind nginx over TLS,
    so an https page loads the SDK from an https origin (no mixed content)."""
    from tests.support.app import make_app
    from tests.support.live import serve, serve_sandbox

    sandbox_url, _, stop_sandbox = serve_sandbox()
    portal_port, sdk_port = _free_port(), _free_port()
    app = make_app("sqlite", tmp_path, PROCTOR_URL=f"https://{PUBLIC_NAME}:{sdk_port}",
                   PUBLIC_URL=f"https://{PUBLIC_NAME}:{portal_port}", SESSION_COOKIE_SECURE=True,
                   PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1, PROXY_FIX_X_HOST=1, PROXY_FIX_X_PORT=1)
    portal_url, stop_portal = serve(app, "local-https-portal")
    _run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
          "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"),
          "-subj", f"/CN={PUBLIC_NAME}", "-addext", f"subjectAltName=DNS:{PUBLIC_NAME}"],
         env=dict(os.environ))
    text = (ROOT / "deploy" / "nginx" / "local-https.conf").read_text()
    for old, new in {"/etc/ssl/exam-demo/cert.pem": str(tmp_path / "cert.pem"),
                     "/etc/ssl/exam-demo/key.pem": str(tmp_path / "key.pem"),
                     "listen 8443 ": f"listen 127.0.0.1:{portal_port} ",
                     "listen 8444 ": f"listen 127.0.0.1:{sdk_port} ",
                     "http://127.0.0.1:5000": portal_url,
                     "http://127.0.0.1:5001": sandbox_url}.items():
        assert old in text, f"local-https.conf no longer has {old}"
        text = text.replace(old, new)
    site = tmp_path / "site.conf"
    site.write_text(text)
    conf = tmp_path / "nginx.conf"
    conf.write_text(main_config(tmp_path, site))
    nginx_args = [NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)]
    _run(nginx_args + ["-t"], dict(os.environ))
    nginx = subprocess.Popen(nginx_args + ["-g", "daemon off;"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tmp_path / "cert.pem")
    try:
        _wait_for(f"https://{PUBLIC_NAME}:{portal_port}/healthz", nginx, verify=session.verify)
        login = session.get(f"https://{PUBLIC_NAME}:{portal_port}/login", timeout=10)
        assert "Secure" in login.headers["Set-Cookie"]
        assert f"script-src 'self' http://constructor.test https://{PUBLIC_NAME}:{sdk_port}" \
            in login.headers["Content-Security-Policy"]
        sdk = session.get(f"https://{PUBLIC_NAME}:{sdk_port}/sdk/supervisor.js", timeout=10)
        assert sdk.status_code == 200 and "Supervisor" in sdk.text
    finally:
        session.close()
        _stop(nginx, signal.SIGQUIT)
        stop_portal()
        stop_sandbox()


# ---- the settings and units behind it (no nginx needed) -------------------------------

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze not installed (Debian's systemd)")
def test_the_systemd_units_are_valid(tmp_path):
    """`systemd-analyze verify` on deploy/systemd/, with this checkout and its virtualenv
    in place of /srv/exam-portal (it checks that each ExecStart exists)."""
    units = sorted((ROOT / "deploy" / "systemd").glob("portal-*"))
    assert {u.name for u in units} >= {"portal-web.service", "portal-outbox.service",
                                       "portal-migrate.service"}
    for unit in units:
        text = unit.read_text().replace("/srv/exam-portal/.venv", str(BIN.parent))
        (tmp_path / unit.name).write_text(text.replace("/srv/exam-portal", str(ROOT)))
    done = subprocess.run([SYSTEMD_ANALYZE, "verify", *(f"./{u.name}" for u in units)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=STEP_TIMEOUT)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    web = (ROOT / "deploy" / "systemd" / "portal-web.service").read_text()
    assert "ExecStart=/srv/exam-portal/.venv/bin/gunicorn --config gunicorn.conf.py wsgi:app" in web
    for name in ("portal-web.service", "portal-outbox.service"):
        # Migrations run once before the app and the worker start.
        assert "After=network-online.target portal-migrate.service" in (ROOT / "deploy" / "systemd" / name).read_text()


# ---- the settings behind it ---------------------------------------------------------------

def test_no_forwarded_header_is_trusted_by_default():
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not isinstance(app.wsgi_app, ProxyFix)


def test_the_proxy_fix_counts_come_from_the_settings():
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "PROXY_FIX_X_FOR": 2, "PROXY_FIX_X_PROTO": 1})
    assert isinstance(app.wsgi_app, ProxyFix)
    assert (app.wsgi_app.x_for, app.wsgi_app.x_proto, app.wsgi_app.x_host, app.wsgi_app.x_port) \
        == (2, 1, 0, 0)


@pytest.mark.parametrize("value", [-1, 6, True])
def test_a_proxy_count_out_of_range_is_named(value):
    with pytest.raises(ConfigError, match="PROXY_FIX_X_HOST"):
        create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://", "PROXY_FIX_X_HOST": value})


def test_a_non_numeric_proxy_count_is_named(monkeypatch):
    monkeypatch.setenv("PROXY_FIX_X_FOR", "one")
    with pytest.raises(ConfigError, match="PROXY_FIX_X_FOR"):
        create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_an_unknown_log_format_is_named():
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://", "LOG_FORMAT": "xml"})


def test_json_log_lines_carry_the_request_and_its_id():
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    record = logging.LogRecord("portal.x", logging.WARNING, __file__, 1, 'said "%s"', ("hi\n",), None)
    with app.test_request_context("/api/x", method="POST", headers={"X-Request-Id": "abc123"}):
        line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == 'said "hi\n"' and entry["level"] == "WARNING"
    assert (entry["logger"], entry["method"], entry["path"], entry["request_id"]) \
        == ("portal.x", "POST", "/api/x", "abc123")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])

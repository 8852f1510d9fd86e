"""Supervisor's part of `flask proctor check` (portal/proctoring/check.py): the seed
guide's integration checklist, automated against the configured Supervisor server. Each
check passes, warns, or fails with how to fix it."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable
from urllib.parse import urlsplit

import requests
from portal.config import DEMO_SECRETS
from portal.proctoring import tokens
from portal.proctoring.check import Check

TIMEOUT = 10
CLOCK_TOLERANCE_SECONDS = 5
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _is_local(url: str) -> bool:
    return urlsplit(url).hostname in LOCAL_HOSTS


def check_sdk(config, http: requests.Session) -> Check:
    url = config["PROCTOR_URL"] + "/sdk/supervisor.js"
    try:
        response = http.get(url, timeout=TIMEOUT)
    except requests.RequestException as error:
        return Check("SDK served by the proctoring server", "FAIL",
                     f"GET {url} failed ({type(error).__name__}). Check PROCTOR_URL.")
    if response.status_code != 200 or "Supervisor" not in response.text:
        return Check("SDK served by the proctoring server", "FAIL",
                     f"GET {url} answered {response.status_code} without the Supervisor SDK. "
                     "Check PROCTOR_URL (the SDK must come from the proctoring server itself).")
    return Check("SDK served by the proctoring server", "PASS", url)


def check_https(config, http) -> Check:
    urls = {"PROCTOR_URL": config["PROCTOR_URL"], "PUBLIC_URL": config.get("PUBLIC_URL") or ""}
    plain = [name for name, url in urls.items() if url.startswith("http://")]
    if not plain:
        return Check("HTTPS", "PASS", "the portal and the proctoring server use HTTPS")
    if all(_is_local(urls[name]) for name in plain):
        return Check("HTTPS", "WARN", f"{', '.join(plain)} on plain HTTP: fine on localhost only; "
                     "camera and screen capture need HTTPS everywhere else")
    return Check("HTTPS", "FAIL", f"{', '.join(plain)} use plain HTTP. Serve them over HTTPS "
                 "(the SDK needs it for camera, microphone and screen capture).")


def check_secrets(config, http) -> Check:
    problems, warnings = [], []
    for name in ("PROCTOR_JWT_SECRET", "PROCTOR_WEBHOOK_KEY"):
        value = config.get(name) or ""
        if value in DEMO_SECRETS.values():
            problems.append(f"{name} is the public demo value")
        elif len(value.encode()) < 24:
            problems.append(f"{name} is shorter than 24 bytes")
        elif len(value.encode()) < 32:
            warnings.append(f"{name} is under 32 bytes (accepted where the vendor issued it)")
    if problems:
        return Check("Secrets", "FAIL", "; ".join(problems) + ". Set the values the proctoring "
                     "server issued (environment or instance/config.py).")
    if warnings:
        return Check("Secrets", "WARN", "; ".join(warnings))
    return Check("Secrets", "PASS", "set, not demo values, 32+ bytes")


def check_webhook(config, http) -> Check:
    if not config.get("PUBLIC_URL"):
        return Check("Webhook URL", "FAIL", "PUBLIC_URL is not set, so the tokens cannot name "
                     "where results go (`api`). Set PUBLIC_URL to the portal's public address.")
    url = config["PUBLIC_URL"] + "/api/proctoring/webhook"
    try:
        response = http.post(url, json={"identifier": "portalcheck"}, timeout=TIMEOUT)
    except requests.RequestException as error:
        return Check("Webhook URL", "FAIL", f"POST {url} failed ({type(error).__name__}): the "
                     "proctoring server cannot deliver results. Check PUBLIC_URL and the firewall.")
    if response.status_code != 401:
        return Check("Webhook URL", "FAIL", f"POST {url} without a key answered "
                     f"{response.status_code}, expected 401. Is PUBLIC_URL this portal?")
    return Check("Webhook URL", "PASS", f"{url} is reachable and refuses unauthenticated calls")


def check_clock(config, http) -> Check:
    try:
        response = http.head(config["PROCTOR_URL"] + "/sdk/supervisor.js", timeout=TIMEOUT)
        server_time = parsedate_to_datetime(response.headers["Date"])
        if server_time.tzinfo is None:  # "GMT" parses as naive
            server_time = server_time.replace(tzinfo=timezone.utc)
    except (requests.RequestException, KeyError, TypeError, ValueError) as error:
        return Check("Clock", "FAIL", f"no usable Date header from the proctoring server "
                     f"({type(error).__name__})")
    skew = abs((datetime.now(timezone.utc) - server_time).total_seconds())
    if skew > CLOCK_TOLERANCE_SECONDS:
        return Check("Clock", "FAIL", f"{skew:.0f} s apart from the proctoring server: tokens "
                     "(exp) will be refused. Synchronise this host's clock (NTP).")
    return Check("Clock", "PASS", f"within {CLOCK_TOLERANCE_SECONDS} s of the proctoring server")


def check_token(config, http) -> Check:
    payload = {"exp": tokens.expiry(60), "username": "portalcheck",
               "identifier": "portalcheck" + secrets.token_hex(8),
               "template": config["PROCTOR_TEMPLATE"], "subject": "Integration check"}
    url = f"{config['PROCTOR_URL']}/api/auth/{config['PROCTOR_PROVIDER']}"
    token = tokens.sign(payload, config["PROCTOR_JWT_SECRET"])
    try:
        response = http.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    except requests.RequestException as error:
        return Check("Test token", "FAIL", f"POST {url} failed ({type(error).__name__})")
    if response.status_code != 200:
        return Check("Test token", "FAIL", f"POST {url} answered {response.status_code} "
                     f"{response.text[:200]!r}. Check PROCTOR_JWT_SECRET, PROCTOR_PROVIDER and "
                     "PROCTOR_TEMPLATE against what the proctoring server issued.")
    return Check("Test token", "PASS", f"accepted by {url}")


CHECKS: list[Callable[..., Check]] = [check_sdk, check_https, check_secrets, check_webhook,
                                      check_clock, check_token]

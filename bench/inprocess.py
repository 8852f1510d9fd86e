#!/usr/bin/env python3
"""In-process measurements for `make bench` and the profiles of docs/benchmarks.md.

    inprocess.py dashboard --out FILE.json SMALL_URL LARGE_URL
        On two seeded databases (bench/seed.py; e.g. 1,000 and 10,000 attempts): log in
        as the instructor with Flask's test client, then time the first dashboard page
        and the live partial as the page polls it (unchanged: 204), one request at a
        time, and count the SQL statements of each with SQLAlchemy's
        `before_cursor_execute` event. Server time is the WSGI call's wall time (the
        test client's own overhead, ~0.2 ms, included): no network, no other request
        competing for the GIL, so it is the view's own cost, the figure the issue's
        targets name.

    inprocess.py profile {webhook,mix} --db URL --seed seed.json [--requests N] [--html F]
        Profile N requests of one scenario in process with pyinstrument (on a database
        seeded by bench/seed.py), print the call tree (and write HTML with --html):
        "where the time goes" in docs/benchmarks.md.

DATABASE_URL is not read: the database is the argument. PORTAL_MODE=demo and the
bench's secrets come from the environment, as bench/run.sh sets them.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
POLL_URL = re.compile(r'id="results-live"[^>]*data-poll-url="([^"]+)"')
USER_AGENT = "portal-bench/1"
REPEATS = {"page": 7, "poll": 25}


def _app(url: str):
    from portal import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})


@contextmanager
def _statements(engine):
    """Count the SQL statements sent on `engine` inside the block: yields a list that
    holds the count once the block ends."""
    from sqlalchemy import event

    seen = [0]

    def count(*_args) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _login(client, username: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_META.search(page).group(1)
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": token})
    if answer.status_code != 302:
        sys.exit(f"inprocess.py: {username} could not log in (HTTP {answer.status_code})")


def _timed(client, engine, path: str, repeats: int) -> dict:
    """Median and max wall time (ms) and statement count of GET path, `repeats` times
    after one untimed request (templates compiled, connection pooled)."""
    client.get(path)
    times, counts, statuses = [], [], set()
    for _ in range(repeats):
        with _statements(engine) as seen:
            started = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        counts.append(seen[0])
        statuses.add(answer.status_code)
    return {"ms_median": round(statistics.median(times), 2), "ms_max": round(max(times), 2),
            "queries": max(counts), "queries_min": min(counts), "statuses": sorted(statuses),
            "repeats": repeats}


def dashboard(args: argparse.Namespace) -> None:
    import html

    from sqlalchemy import func, select

    from portal.exams.models import Attempt
    from portal.extensions import db
    from portal.proctoring.models import MetricSample

    out = {}
    for label, url in (("small", args.small), ("large", args.large)):
        app = _app(url)
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        with app.app_context():
            attempts = db.session.scalar(select(func.count(Attempt.id)))
            samples = db.session.scalar(select(func.count(MetricSample.id)))
            engine = db.engine
        _login(client, "instructor", "instructor")
        page = client.get("/dashboard/").get_data(as_text=True)
        poll = POLL_URL.search(page)
        if not poll:
            sys.exit("inprocess.py: no polled region (id=results-live data-poll-url) on /dashboard/")
        with app.app_context():
            out[label] = {"attempts": attempts, "samples": samples,
                          "page": _timed(client, engine, "/dashboard/", REPEATS["page"]),
                          "poll": _timed(client, engine, html.unescape(poll.group(1)),
                                         REPEATS["poll"])}
            db.session.remove()
            db.engine.dispose()
        print(f"{label}: {attempts} attempts, {samples} samples: page {out[label]['page']}, "
              f"poll {out[label]['poll']}")
    Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")


def profile(args: argparse.Namespace) -> None:
    from pyinstrument import Profiler

    data = json.loads(Path(args.seed).read_text(encoding="utf-8"))
    app = _app(args.db)
    make = {"webhook": _webhook_requests, "mix": _mix_requests}[args.scenario]
    requests = make(app, data, args.requests)
    profiler = Profiler(interval=0.0005)
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    profiler.start()
    for send in requests:
        code = send()
        statuses[code] = statuses.get(code, 0) + 1
    profiler.stop()
    elapsed = time.perf_counter() - started
    print(f"{args.scenario}: {len(requests)} requests in {elapsed:.2f}s, "
          f"{elapsed / len(requests) * 1000:.2f} ms each (profiler on); statuses {statuses}")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if args.html:
        Path(args.html).write_text(profiler.output_html(), encoding="utf-8")


def _webhook_requests(app, data: dict, n: int) -> list:
    """n deliveries as bench/webhook.lua sends them (moving times, all statuses)."""
    import os
    from datetime import datetime, timedelta, timezone

    client = app.test_client()
    header = os.environ.get("PROCTOR_WEBHOOK_HEADER", "X-Api-Key")
    key = os.environ["PROCTOR_WEBHOOK_KEY"].split(",")[0]
    base = datetime(2024, 5, 1, tzinfo=timezone.utc)
    statuses = ("started", "stopped", "accepted", "rejected", "skipped")
    ids = data["webhook_identifiers"]

    def stamp(seconds: int) -> str:
        return (base + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    sends = []
    for k in range(n):
        status = statuses[k % len(statuses)]
        body = {"identifier": ids[k % len(ids)], "status": status, "startedAt": stamp(0),
                "stoppedAt": None if status == "started" else stamp(3600 + k),
                "signedAt": stamp(7200 + k) if status in ("accepted", "rejected") else None,
                "score": (k * 7) % 101, "threshold": 50, "duration": k % 90,
                "student": "bench", "proctor": "profile", "comment": f"delivery {k}",
                "averages": {code: (k * j) % 100 for j, code in enumerate(("b1", "c1", "n1"))}}
        sends.append(lambda body=body: client.post(
            "/api/proctoring/webhook", json=body, headers={header: key}).status_code)
    return sends


def _mix_requests(app, data: dict, n: int) -> list:
    """n requests of the exam-day mix (6 metrics : 3 saves : 1 questions : 1 token),
    each student with their own test client (session cookie) and CSRF token."""
    kinds = ["metrics", "save", "metrics", "questions", "metrics", "save", "metrics",
             "token", "metrics", "save", "metrics"]
    students = data["students"][:max(1, n // 11 + 1)]
    clients = []
    for student in students:
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        _login(client, student["username"], data["student_password"])
        token = CSRF_META.search(client.get("/").get_data(as_text=True)).group(1)
        clients.append((client, {"X-CSRFToken": token}, student["attempts"]))
    sends = []
    for k in range(n):
        client, headers, attempts = clients[k % len(clients)]
        attempt = attempts[(k // len(clients)) % len(attempts)]
        prefix = f"/api/attempts/{attempt['id']}"
        kind = kinds[k % len(kinds)]
        if kind == "metrics":
            body = {"samples": [{"metrics": {"b1": 10, "c1": k % 100}, "peak": "b1",
                                 "score": 90, "threshold": 50, "violated": False}] * 3}
            send = lambda c=client, h=headers, p=prefix, b=body: c.post(
                f"{p}/metrics", json=b, headers=h).status_code
        elif kind == "save":
            question = data["exams"][str(attempt["exam"])][k % 2]  # the two single-choice
            send = lambda c=client, h=headers, p=prefix, q=question, v=k: c.put(
                f"{p}/answers/{q['id']}", json={"value": v % q["options"]}, headers=h).status_code
        elif kind == "questions":
            send = lambda c=client, h=headers, p=prefix: c.get(f"{p}/questions", headers=h).status_code
        else:
            send = lambda c=client, h=headers, p=prefix: c.post(f"{p}/token", headers=h).status_code
        sends.append(send)
    return sends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("dashboard")
    p.add_argument("--out", required=True)
    p.add_argument("small")
    p.add_argument("large")
    p.set_defaults(func=dashboard)
    p = sub.add_parser("profile")
    p.add_argument("scenario", choices=("webhook", "mix"))
    p.add_argument("--db", required=True)
    p.add_argument("--seed", required=True)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--html")
    p.set_defaults(func=profile)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Data and sessions for the load benchmarks (`make bench`, see docs/benchmarks.md).

    seed.py seed  --out seed.json [--students 500] [--running-exams 8]
                  [--attempts 10000] [--samples 100000] [--results 1500]
        Fill a FRESH, migrated database (DATABASE_URL): an instructor, bench students,
        eight exams. Each of the first --students students has a running attempt in each
        of the first --running-exams exams (the exam-day mix cycles over all of them;
        the first 32 of exam 1 are started through the exam services, start_or_resume +
        report_started, as the page does); the rest of the --attempts are in every
        state, with graded answers; --samples metrics samples are spread over the
        started attempts, all older than two minutes (so none counts against a page's
        per-minute metrics limit); --results results, each with its delivery-log row.
        The bulk is written with the ORM's bulk inserts (the services would take
        minutes). Bench students get a cheap password hash (pbkdf2, 1,000 rounds): the
        login of 500 students with the default scrypt would take minutes, and
        logins are not what is measured. Refuses a database that already has users.

    seed.py login --base http://127.0.0.1:PORT --seed seed.json --lua data.lua
        Log in once per bench student (in parallel) and once as the instructor (HTTP,
        with requests), read each session cookie and the CSRF token of a page, check
        that each request of the mix works once, and write everything the wrk scripts
        need as a Lua table.

    seed.py poll-url --base http://127.0.0.1:PORT --lua data.lua [--valid-for SECONDS]
        Read the dashboard's current poll URL into data.lua (just before the poll run,
        so that "unchanged" is true: the warm-up and the saves changed the table), at
        least SECONDS before the minute turns (the digest holds the current minute).

    seed.py count
        Print the delivery-log and result counts as JSON (for the nothing-lost check).

    seed.py pg-create URL / pg-drop URL
        Create / drop a throw-away PostgreSQL database next to the one URL names;
        pg-create prints the new database's URL.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER_AGENT = "portal-bench/1"  # wrk sends the same one (Flask-Login ties the session to it)
STUDENT_PASSWORD = "student-bench"
INSTRUCTOR = ("instructor", "instructor")
EXAMS = 8
SERVICE_STARTS = 32  # running attempts started through the exam services
FINAL_STATUSES = ("stopped", "accepted", "rejected", "skipped")
METRIC_CODES = ("b1", "b2", "c1", "c2", "k1", "m1", "n1", "s1")
BATCH = 2000


def _app():
    from portal import create_app
    return create_app()


# ---- seed ----------------------------------------------------------------------------

def seed(args: argparse.Namespace) -> None:
    import yaml
    from sqlalchemy import func, insert, select
    from werkzeug.security import generate_password_hash

    from portal.auth.models import User
    from portal.auth.services import create_user
    from portal.db_types import utcnow
    from portal.exams import services
    from portal.exams.importer import import_exam
    from portal.exams.models import Attempt
    from portal.extensions import db

    if args.running_exams > EXAMS:
        sys.exit(f"seed.py: --running-exams is at most {EXAMS}")
    rng = random.Random(20240601)
    app = _app()
    started = time.monotonic()
    with app.app_context():
        if db.session.scalar(select(func.count(User.id))):
            sys.exit("seed.py: the database already has users; the bench needs a fresh one")

        # Exams: the demo exam's questions under eight slugs, with a long time limit.
        demo = yaml.safe_load((ROOT / "portal/site/demo_exam.yaml").read_text(encoding="utf-8"))
        exams = []
        for n in range(1, EXAMS + 1):
            data = dict(demo, slug=f"bench-{n}", title=f"Bench exam {n}",
                        time_limit_minutes=240, tags=["bench"])
            exam, _ = import_exam(json.dumps(data), f"bench-{n}.json")
            exams.append(exam)

        create_user(*INSTRUCTOR, role="instructor", display_name="Bench Instructor")
        password_hash = generate_password_hash(STUDENT_PASSWORD, method="pbkdf2:sha256:1000")
        running = args.students * args.running_exams
        pool = max(args.students, SERVICE_STARTS, -(-args.attempts // EXAMS))
        db.session.execute(insert(User), [
            {"username": f"bench{n:05d}", "password_hash": password_hash, "role": "student",
             "display_name": f"Student {n:05d}", "group_name": "bench"}
            for n in range(1, pool + 1)])
        db.session.commit()
        students = db.session.scalars(
            select(User).where(User.role == "student").order_by(User.id)).all()
        now = utcnow()

        # The first running attempts go through the services, as the exam page's start
        # does: start_or_resume (created), then report_started (in_progress, 4 h).
        for student in students[:SERVICE_STARTS]:
            attempt = services.start_or_resume(student, exams[0], now=now)
            services.report_started(attempt, now=now)
        db.session.commit()

        # Everything else: (student, exam) pairs, the mix's running attempts first.
        plan = []
        for e, exam in enumerate(exams):
            for s, student in enumerate(students):
                if e == 0 and s < SERVICE_STARTS:
                    continue
                mix = s < args.students and e < args.running_exams
                plan.append((mix, exam, student))
        plan.sort(key=lambda item: not item[0])
        plan = plan[:max(0, args.attempts - SERVICE_STARTS)]
        if sum(mix for mix, _, _ in plan) + SERVICE_STARTS < running:
            sys.exit("seed.py: --attempts must be at least --students x --running-exams")
        states = ["submitted"] * 55 + ["terminated"] * 15 + ["expired"] * 10 + \
                 ["in_progress"] * 12 + ["created"] * 8
        rows = []
        for mix, exam, student in plan:
            state = "in_progress" if mix else rng.choice(states)
            if state in ("in_progress", "created"):
                begin = now - timedelta(minutes=rng.uniform(10, 60))
            else:
                begin = now - timedelta(minutes=rng.uniform(300, 7 * 24 * 60))
            row = {"exam_id": exam.id, "user_id": student.id, "state": state,
                   "vendor": "supervisor", "identifier": _identifier(rng),
                   "created_at": begin, "updated_at": begin, "started_at": None,
                   "deadline_at": None, "closed_at": None, "close_reason": None,
                   "score": None, "max_score": None}
            if state != "created":
                row["started_at"] = begin
                row["deadline_at"] = begin + timedelta(minutes=exam.time_limit_minutes)
            if state in ("submitted", "terminated", "expired"):
                row["closed_at"] = (row["deadline_at"] if state == "expired"
                                    else begin + timedelta(minutes=rng.uniform(5, 40)))
                row["updated_at"] = row["closed_at"]
                row["close_reason"] = {"submitted": "Submitted by the student.",
                                       "terminated": "Proctoring session ended (bench).",
                                       "expired": "Time limit reached."}[state]
            rows.append(row)
        for chunk in range(0, len(rows), BATCH):
            db.session.execute(insert(Attempt), rows[chunk:chunk + BATCH])
        db.session.commit()

        mix_users = {s.id for s in students[:args.students]}
        mix_exams = {e.id for e in exams[:args.running_exams]}
        made = _answers_samples_results(db, rng, exams, args, now, mix_users, mix_exams)
        mix_attempts = db.session.execute(
            select(Attempt.id, Attempt.user_id, Attempt.exam_id)
            .where(Attempt.user_id.in_([s.id for s in students[:max(args.students, 1)]]),
                   Attempt.exam_id.in_([e.id for e in exams[:args.running_exams]]),
                   Attempt.state == "in_progress")
            .order_by(Attempt.user_id, Attempt.exam_id)).all()
        by_user: dict[int, list] = {}
        for attempt_id, user_id, exam_id in mix_attempts:
            by_user.setdefault(user_id, []).append({"id": attempt_id, "exam": exam_id})
        names = {s.id: s.username for s in students}
        out = {
            "students": [{"username": names[u], "attempts": a} for u, a in by_user.items()],
            "student_password": STUDENT_PASSWORD,
            "instructor": {"username": INSTRUCTOR[0], "password": INSTRUCTOR[1]},
            "exams": {str(e.id): [{"id": q.id, "kind": q.kind, "options": len(q.options or [])}
                                  for q in e.questions] for e in exams},
            # Webhook targets: open attempts outside the mix (a final status closes
            # them), closed ones, and identifiers no attempt has (kept as unmatched).
            "webhook_identifiers": (made["open"][:150] + made["closed"][:250]
                                    + [f"bench-unmatched-{n:04d}" for n in range(200)]),
            "counts": _counts(),
        }
    Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"seeded {out['counts']['attempts']} attempts ({len(mix_attempts)} running for the "
          f"mix, {len(by_user)} students), {made['samples']} samples, {made['results']} "
          f"results, {pool + 1} users in {time.monotonic() - started:.1f}s; "
          f"counts {out['counts']}")


def _identifier(rng: random.Random) -> str:
    """An attempt identifier in the portal's form (32 A-Za-z0-9), from the seeded rng."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(32))


def _answers_samples_results(db, rng: random.Random, exams, args, now, mix_users: set[int],
                             mix_exams: set[int]) -> dict:
    """Graded answers, metrics samples and results (with their delivery-log rows) for
    the attempts just inserted; commits. Returns identifiers (open ones outside the
    mix, which a final webhook status may close; closed ones) and counts."""
    from sqlalchemy import bindparam, insert, select, update

    from portal.exams import grading
    from portal.exams.models import Answer, Attempt
    from portal.proctoring.models import MetricSample, ProctoringResult, WebhookDelivery
    from portal.proctoring.ordering import RANKS

    questions = {e.id: list(e.questions) for e in exams}
    max_score = {e.id: float(sum(q.points for q in questions[e.id])) for e in exams}
    attempts = db.session.execute(
        select(Attempt.id, Attempt.exam_id, Attempt.user_id, Attempt.state, Attempt.identifier,
               Attempt.started_at, Attempt.closed_at).order_by(Attempt.id)).all()
    started = [a for a in attempts if a.started_at is not None]
    per_attempt = args.samples / max(1, len(started))
    answers, samples, results, log, scores = [], [], [], [], []
    made = {"open": [], "closed": [], "samples": 0, "results": 0}
    for a in attempts:
        closed = a.state in ("submitted", "terminated", "expired")
        in_mix = a.user_id in mix_users and a.exam_id in mix_exams
        if a.state in ("created", "in_progress") and not in_mix:
            made["open"].append(a.identifier)
        elif closed:
            made["closed"].append(a.identifier)
        if a.started_at is None:
            continue
        chosen = rng.sample(questions[a.exam_id],
                            rng.randint(0 if a.state == "in_progress" else 2,
                                        len(questions[a.exam_id]) - 2))
        total = 0.0
        for question in chosen:
            value = grading.validate_answer(question, _answer(question, rng))
            points = grading.points_for(question, value) if closed else None
            total += points or 0
            answers.append({"attempt_id": a.id, "question_id": question.id, "value": value,
                            "points": points, "updated_at": a.started_at + timedelta(minutes=1)})
        if closed:
            scores.append({"id": a.id, "score": total, "max_score": max_score[a.exam_id]})
        # Samples every 10 s from the start, never within the last two minutes.
        count = int(per_attempt) + (rng.random() < per_attempt - int(per_attempt))
        last = (a.closed_at or now - timedelta(minutes=2))
        for i in range(count):
            at = min(a.started_at + timedelta(seconds=10 * i), last)
            metrics = {code: rng.randint(0, 100) for code in rng.sample(METRIC_CODES, 3)}
            peak = max(metrics, key=metrics.get)
            score = 100 - metrics[peak]
            samples.append({"attempt_id": a.id, "recorded_at": at, "score": score,
                            "threshold": 50, "violated": score < 50, "peak": peak,
                            "metrics": metrics})
        if made["results"] < args.results and a.state != "created" and \
                (a.state != "in_progress" or rng.random() < 0.1):
            made["results"] += 1
            _result(a, rng, results, log, RANKS)
    made["samples"] = len(samples)
    for rows, model in ((answers, Answer), (samples, MetricSample),
                        (results, ProctoringResult), (log, WebhookDelivery)):
        for chunk in range(0, len(rows), BATCH):
            db.session.execute(insert(model), rows[chunk:chunk + BATCH])
    if scores:
        db.session.connection().execute(
            update(Attempt.__table__).where(Attempt.__table__.c.id == bindparam("aid"))
            .values(score=bindparam("s"), max_score=bindparam("m")),
            [{"aid": r["id"], "s": r["score"], "m": r["max_score"]} for r in scores])
    db.session.commit()
    return made


def _result(a, rng: random.Random, results: list, log: list, RANKS) -> None:
    begin = a.started_at
    status = "started" if a.state == "in_progress" else rng.choice(FINAL_STATUSES)
    stopped = None if status == "started" else begin + timedelta(minutes=rng.uniform(5, 40))
    signed = stopped + timedelta(minutes=30) if status in ("accepted", "rejected") else None
    body = {"identifier": a.identifier, "status": status, "score": rng.randint(0, 100),
            "threshold": 50, "duration": rng.randint(5, 40),
            "startedAt": _iso(begin), "stoppedAt": _iso(stopped), "signedAt": _iso(signed),
            "proctor": "bench-proctor" if signed else None,
            "averages": {code: rng.randint(0, 100) for code in METRIC_CODES}}
    results.append({
        "identifier": a.identifier, "attempt_id": a.id, "vendor": "supervisor",
        "status": status, "rank": RANKS[status], "order_at": signed or stopped,
        "score": body["score"], "threshold": 50, "duration": body["duration"],
        "started_at": begin, "stopped_at": stopped, "signed_at": signed,
        "student": a.identifier[:8], "proctor": body["proctor"],
        "comment": "seeded by bench/seed.py", "averages": body["averages"], "details": {},
        "created_at": stopped or begin, "updated_at": signed or stopped or begin})
    log.append({
        "received_at": signed or stopped or begin, "vendor": "supervisor",
        "identifier": a.identifier, "status": status, "content_type": "application/json",
        "headers": {"User-Agent": "bench-seed"}, "body": json.dumps(body),
        "outcome": "applied", "detail": "Applied. (seeded by bench/seed.py)"})


def _iso(value) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _answer(question, rng: random.Random):
    if question.kind == "single":
        return rng.randrange(len(question.options))
    if question.kind == "multiple":
        return rng.sample(range(len(question.options)), rng.randint(1, len(question.options)))
    return rng.choice(["X-Api-Key", "stop", "no idea"])


def _counts() -> dict:
    from sqlalchemy import func, select

    from portal.exams.models import Attempt
    from portal.extensions import db
    from portal.proctoring.models import MetricSample, ProctoringResult, WebhookDelivery

    def count(column):
        return db.session.scalar(select(func.count(column)))

    return {"deliveries": count(WebhookDelivery.id), "results": count(ProctoringResult.id),
            "attempts": count(Attempt.id), "samples": count(MetricSample.id)}


def count(args: argparse.Namespace) -> None:
    from portal.extensions import db
    with _app().app_context():
        print(json.dumps(_counts()))
        db.session.remove()


# ---- login ---------------------------------------------------------------------------

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
POLL_URL = re.compile(r'id="results-live"[^>]*data-poll-url="([^"]+)"')


def _session(base: str, username: str, password: str):
    import requests

    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    page = http.get(f"{base}/login", timeout=30)
    token = CSRF_META.search(page.text).group(1)
    answer = http.post(f"{base}/login", timeout=30, allow_redirects=False,
                       data={"username": username, "password": password, "csrf_token": token})
    if answer.status_code != 302:
        sys.exit(f"seed.py login: {username} could not log in (HTTP {answer.status_code})")
    return http


def _cookie_header(http) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def _student_session(base: str, username: str, password: str) -> dict:
    """Log one student in; their cookie and the CSRF token of a page after the login."""
    http = _session(base, username, password)
    page = http.get(f"{base}/", timeout=30)
    page.raise_for_status()
    return {"http": http, "cookie": _cookie_header(http),
            "csrf": CSRF_META.search(page.text).group(1)}


def _check_mix(base: str, student: dict, attempt: dict, question: dict) -> None:
    """Each request of the mix once, with requests: if one fails, wrk would only
    measure errors."""
    http, headers = student["http"], {"X-CSRFToken": student["csrf"]}
    prefix = f"{base}/api/attempts/{attempt['id']}"
    checks = [
        ("save", http.put(f"{prefix}/answers/{question['id']}", json={"value": None},
                          headers=headers, timeout=30)),
        ("metrics", http.post(f"{prefix}/metrics", headers=headers, timeout=30, json={
            "samples": [{"metrics": {"b1": 0}, "peak": "b1", "score": 100, "threshold": 50,
                         "violated": False}]})),
        ("questions", http.get(f"{prefix}/questions", headers=headers, timeout=30)),
        ("token", http.post(f"{prefix}/token", headers=headers, timeout=30)),
    ]
    for what, answer in checks:
        if answer.status_code != 200:
            sys.exit(f"seed.py login: a {what} request answered HTTP {answer.status_code}: "
                     f"{answer.text[:300]}")


def login(args: argparse.Namespace) -> None:
    import html

    base = args.base.rstrip("/")
    data = json.loads(Path(args.seed).read_text(encoding="utf-8"))
    started = time.monotonic()
    # Several at once: the server has 8 threads, and 500 logins one by one take long.
    with ThreadPoolExecutor(max_workers=8) as pool:
        sessions = list(pool.map(
            lambda student: _student_session(base, student["username"], data["student_password"]),
            data["students"]))
    first = data["students"][0]["attempts"][0]
    _check_mix(base, sessions[0], first, data["exams"][str(first["exam"])][0])
    # The mix's attempts, interleaved so that consecutive requests are different students.
    attempts = []
    for round_ in range(max(len(s["attempts"]) for s in data["students"])):
        for index, student in enumerate(data["students"]):
            if round_ < len(student["attempts"]):
                attempt = student["attempts"][round_]
                attempts.append({"id": attempt["id"], "student": index + 1,
                                 "exam": str(attempt["exam"])})

    http = _session(base, data["instructor"]["username"], data["instructor"]["password"])
    page = http.get(f"{base}/dashboard/", timeout=60)
    page.raise_for_status()
    poll = POLL_URL.search(page.text)
    if not poll:
        sys.exit("seed.py login: no polled region (id=results-live data-poll-url) on /dashboard/")
    poll_url = html.unescape(poll.group(1))
    partial = http.get(base + poll_url, timeout=60)
    lua = {
        "user_agent": USER_AGENT,
        "webhook_key": os.environ["PROCTOR_WEBHOOK_KEY"],
        "webhook_header": os.environ.get("PROCTOR_WEBHOOK_HEADER", "X-Api-Key"),
        "identifiers": data["webhook_identifiers"],
        "students": [{"cookie": s["cookie"], "csrf": s["csrf"]} for s in sessions],
        "attempts": attempts,
        "exams": data["exams"],
        "instructor_cookie": _cookie_header(http),
        "poll_url": poll_url,
    }
    _write_data(args.lua, lua)
    print(f"logged in {len(sessions)} students ({len(attempts)} running attempts) and the "
          f"instructor in {time.monotonic() - started:.1f}s; dashboard {len(page.content)} "
          f"bytes, poll {poll_url} -> HTTP {partial.status_code}")


def _write_data(lua_path: str, data: dict) -> None:
    """The wrk scripts' data as a Lua table, and beside it as JSON (for poll-url)."""
    Path(lua_path).write_text("return " + _lua(data) + "\n", encoding="utf-8")
    Path(lua_path).with_suffix(".json").write_text(json.dumps(data), encoding="utf-8")


def poll_url(args: argparse.Namespace) -> None:
    """Read the dashboard's current poll URL (its digest) into the wrk data: the runs
    before it (warm-up, saves) changed the table since the login. The digest holds the
    current minute (the flags' ages): with fewer than `--valid-for` seconds left in it,
    wait for the next minute, so the poll run that follows sees an unchanged table
    throughout (else every poll after the minute turns answers 200, not 204)."""
    import html
    import time

    import requests

    left = 60 - time.time() % 60
    if left < args.valid_for:
        time.sleep(left + 0.2)
    path = Path(args.lua).with_suffix(".json")
    data = json.loads(path.read_text(encoding="utf-8"))
    page = requests.get(f"{args.base.rstrip('/')}/dashboard/", timeout=60,
                        headers={"Cookie": data["instructor_cookie"], "User-Agent": USER_AGENT})
    page.raise_for_status()
    poll = POLL_URL.search(page.text)
    if not poll:
        sys.exit("seed.py poll-url: no polled region (id=results-live data-poll-url) on /dashboard/")
    data["poll_url"] = html.unescape(poll.group(1))
    _write_data(args.lua, data)


def _lua(value) -> str:
    """A Python value as a Lua literal (strings, numbers, lists, dicts with str keys)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid Lua string literal for ASCII
    if isinstance(value, list):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {_lua(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value).__name__)


# ---- PostgreSQL throw-away database ---------------------------------------------------

def _pg_parts(url: str):
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        sys.exit(f"seed.py: {parsed.drivername}: BENCH_DATABASE_URL must be postgresql://")
    return parsed


def _pg_admin(url: str):
    import psycopg
    parsed = _pg_parts(url)
    return psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                           password=parsed.password, dbname=parsed.database or "postgres",
                           autocommit=True)


def pg_create(args: argparse.Namespace) -> None:
    name = f"portal_bench_{secrets.token_hex(4)}"
    with _pg_admin(args.url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _pg_parts(args.url).set(drivername="postgresql", database=name)
    print(url.render_as_string(hide_password=False))


def pg_drop(args: argparse.Namespace) -> None:
    name = _pg_parts(args.url).database
    if not (name or "").startswith("portal_bench_"):
        sys.exit(f"seed.py pg-drop: refusing to drop {name!r} (not a bench database)")
    admin = _pg_parts(args.url).set(database="postgres").render_as_string(hide_password=False)
    with _pg_admin(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("seed")
    p.add_argument("--out", required=True)
    p.add_argument("--students", type=int, default=500)
    p.add_argument("--running-exams", type=int, default=8)
    p.add_argument("--attempts", type=int, default=10000)
    p.add_argument("--samples", type=int, default=100000)
    p.add_argument("--results", type=int, default=1500)
    p.set_defaults(func=seed)
    p = sub.add_parser("login")
    p.add_argument("--base", required=True)
    p.add_argument("--seed", required=True)
    p.add_argument("--lua", required=True)
    p.set_defaults(func=login)
    p = sub.add_parser("poll-url")
    p.add_argument("--base", required=True)
    p.add_argument("--lua", required=True)
    p.add_argument("--valid-for", type=float, default=10.0,
                   help="seconds the digest must stay valid (it holds the current minute)")
    p.set_defaults(func=poll_url)
    sub.add_parser("count").set_defaults(func=count)
    for name, func in (("pg-create", pg_create), ("pg-drop", pg_drop)):
        p = sub.add_parser(name)
        p.add_argument("url")
        p.set_defaults(func=func)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()

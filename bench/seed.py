#!/usr/bin/env python3
"""Data and sessions for the load benchmarks (`make bench`, see docs/benchmarks.md).

    seed.py seed  --out seed.json [--students 32] [--attempts 2000] [--results 1500]
        Fill a FRESH, migrated database (DATABASE_URL): an instructor, bench students,
        four exams; the first --students students get a running attempt through the
        exam services (start_or_resume + report_started), for the answer-save run; the
        rest of the --attempts (every state, graded answers, metrics samples) and the
        --results (each with its delivery-log row) are written straight through the
        models, in batches, as the services would take minutes for 2,000 attempts.
        Refuses a database that already has users.

    seed.py login --base http://127.0.0.1:PORT --seed seed.json --lua data.lua
        Log in once per bench student and once as the instructor (HTTP, with requests),
        read each session cookie and the page's CSRF token, check that one save works,
        and write everything the wrk scripts need as a Lua table.

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
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER_AGENT = "portal-bench/1"  # wrk sends the same one (Flask-Login ties the session to it)
STUDENT_PASSWORD = "student-bench"
INSTRUCTOR = ("instructor", "instructor")
EXAMS = 4
FINAL_STATUSES = ("stopped", "accepted", "rejected", "skipped")
METRIC_CODES = ("b1", "b2", "c1", "c2", "k1", "m1", "n1", "s1")


def _app():
    from portal import create_app
    return create_app()


# ---- seed ----------------------------------------------------------------------------

def seed(args: argparse.Namespace) -> None:
    import yaml
    from sqlalchemy import func, select
    from werkzeug.security import generate_password_hash

    from portal.auth.models import User
    from portal.auth.services import create_user
    from portal.db_types import utcnow
    from portal.exams import grading, services
    from portal.exams.importer import import_exam
    from portal.exams.models import Answer, Attempt, new_identifier
    from portal.extensions import db
    from portal.proctoring.models import MetricSample, ProctoringResult, WebhookDelivery
    from portal.proctoring.results import RANKS

    rng = random.Random(20240601)
    app = _app()
    started = time.monotonic()
    with app.app_context():
        if db.session.scalar(select(func.count(User.id))):
            sys.exit("seed.py: the database already has users; the bench needs a fresh one")

        # Exams: the demo exam's questions under four slugs, with a long time limit.
        demo = yaml.safe_load((ROOT / "portal/core/demo_exam.yaml").read_text(encoding="utf-8"))
        exams = []
        for n in range(1, EXAMS + 1):
            data = dict(demo, slug=f"bench-{n}", title=f"Bench exam {n}",
                        time_limit_minutes=240, tags=["bench"])
            exam, _ = import_exam(json.dumps(data), f"bench-{n}.json")
            exams.append(exam)

        create_user(*INSTRUCTOR, role="instructor", display_name="Bench Instructor")
        # One hash for every bench student: hashing 500 passwords would take minutes.
        password_hash = generate_password_hash(STUDENT_PASSWORD)
        pool = max(args.students, -(-args.attempts // EXAMS))
        students = [User(username=f"bench{n:04d}", password_hash=password_hash, role="student",
                         display_name=f"Student {n:04d}", group_name="bench")
                    for n in range(1, pool + 1)]
        db.session.add_all(students)
        db.session.commit()
        now = utcnow()

        # The save run's attempts go through the services, as the exam page's start does:
        # start_or_resume (created), then report_started (in_progress, deadline in 4 h).
        save_students = []
        for student in students[:args.students]:
            attempt = services.start_or_resume(student, exams[0], now=now)
            services.report_started(attempt, now=now)
            save_students.append({"username": student.username, "attempt": attempt.id})
        db.session.commit()

        # The dashboard's population, written straight through the models (the services
        # cost ~45 ms per attempt; 2,000 would take the whole time budget): attempts in
        # every state, graded answers, metrics samples, results and their delivery log.
        states = ["submitted"] * 55 + ["terminated"] * 15 + ["expired"] * 10 + \
                 ["in_progress"] * 12 + ["created"] * 8
        identifiers = {"open": [], "closed": []}
        made, with_result = len(save_students), 0
        pending = []
        for exam in exams:
            questions = list(exam.questions)
            max_score = float(sum(q.points for q in questions))
            for index, student in enumerate(students):
                if made >= args.attempts:
                    break
                if exam is exams[0] and index < args.students:
                    continue  # already has its running attempt
                made += 1
                state = rng.choice(states)
                if state in ("in_progress", "created"):
                    begin = now - timedelta(minutes=rng.uniform(1, 60))
                else:
                    begin = now - timedelta(minutes=rng.uniform(300, 7 * 24 * 60))
                attempt = Attempt(exam_id=exam.id, user_id=student.id, state=state,
                                  vendor="supervisor", identifier=new_identifier(),
                                  created_at=begin, updated_at=begin)
                if state != "created":
                    attempt.started_at = begin
                    attempt.deadline_at = begin + timedelta(minutes=exam.time_limit_minutes)
                    for question in rng.sample(questions, rng.randint(2, len(questions))):
                        value = grading.validate_answer(question, _answer(question, rng))
                        attempt.answers.append(Answer(
                            question_id=question.id, value=value,
                            updated_at=begin + timedelta(minutes=1),
                            points=grading.points_for(question, value)
                            if state not in ("in_progress",) else None))
                if state in ("submitted", "terminated", "expired"):
                    attempt.closed_at = (attempt.deadline_at if state == "expired"
                                         else begin + timedelta(minutes=rng.uniform(5, 40)))
                    attempt.updated_at = attempt.closed_at
                    attempt.close_reason = {"submitted": "Submitted by the student.",
                                            "terminated": "Proctoring session ended (bench).",
                                            "expired": "Time limit reached."}[state]
                    attempt.score = float(sum(a.points or 0 for a in attempt.answers))
                    attempt.max_score = max_score
                db.session.add(attempt)
                pending.append((attempt, state, begin))
                if state != "created" and rng.random() < 0.4:
                    attempt._bench_samples = _samples(rng)
                if len(pending) >= 250:
                    with_result += _finish(db, pending, args.results - with_result, rng, identifiers,
                                           MetricSample, ProctoringResult, WebhookDelivery, RANKS)
                    pending = []
        with_result += _finish(db, pending, args.results - with_result, rng, identifiers,
                               MetricSample, ProctoringResult, WebhookDelivery, RANKS)

        questions = [{"id": q.id, "kind": q.kind, "options": len(q.options or [])}
                     for q in exams[0].questions]
        out = {
            "students": save_students, "student_password": STUDENT_PASSWORD,
            "instructor": {"username": INSTRUCTOR[0], "password": INSTRUCTOR[1]},
            "questions": questions,
            # Webhook targets: attempts still open (a final status closes them), closed
            # ones, and identifiers no attempt has (kept as unmatched results).
            "webhook_identifiers": (identifiers["open"][:150] + identifiers["closed"][:250]
                                    + [f"bench-unmatched-{n:04d}" for n in range(200)]),
            "counts": _counts(),
        }
    Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"seeded {made} attempts ({len(save_students)} running for the save run), "
          f"{with_result} results, {pool + 1} users in {time.monotonic() - started:.1f}s; "
          f"counts {out['counts']}")


def _finish(db, pending, results_left, rng, identifiers, MetricSample, ProctoringResult,
            WebhookDelivery, RANKS) -> int:
    """Flush a batch of attempts, then add their samples, results and log rows; commit."""
    db.session.flush()
    made = 0
    for attempt, state, begin in pending:
        identifiers["open" if state in ("created", "in_progress") else "closed"].append(
            attempt.identifier)
        for i, sample in enumerate(getattr(attempt, "_bench_samples", [])):
            db.session.add(MetricSample(attempt_id=attempt.id, violated=sample["violated"],
                                        recorded_at=begin + timedelta(seconds=10 * i),
                                        score=sample["score"], threshold=sample["threshold"],
                                        peak=sample["peak"], metrics=sample["metrics"]))
        if made >= results_left or state == "created":
            continue
        made += 1
        status = "started" if state == "in_progress" else rng.choice(FINAL_STATUSES)
        stopped = None if status == "started" else begin + timedelta(minutes=rng.uniform(5, 40))
        signed = stopped + timedelta(minutes=30) if status in ("accepted", "rejected") else None
        body = {"identifier": attempt.identifier, "status": status, "score": rng.randint(0, 100),
                "threshold": 50, "duration": rng.randint(5, 40),
                "startedAt": _iso(begin), "stoppedAt": _iso(stopped), "signedAt": _iso(signed),
                "proctor": "bench-proctor" if signed else None,
                "averages": {code: rng.randint(0, 100) for code in METRIC_CODES}}
        db.session.add(ProctoringResult(
            identifier=attempt.identifier, attempt_id=attempt.id, vendor="supervisor",
            status=status, rank=RANKS[status], order_at=signed or stopped,
            score=body["score"], threshold=50, duration=body["duration"], started_at=begin,
            stopped_at=stopped, signed_at=signed, student=attempt.identifier[:8],
            proctor=body["proctor"], comment="seeded by bench/seed.py",
            averages=body["averages"], details={},
            created_at=stopped or begin, updated_at=signed or stopped or begin))
        db.session.add(WebhookDelivery(
            received_at=signed or stopped or begin, vendor="supervisor",
            identifier=attempt.identifier, status=status, content_type="application/json",
            headers={"User-Agent": "bench-seed"}, body=json.dumps(body), outcome="applied",
            detail="Applied. (seeded by bench/seed.py)"))
    db.session.commit()
    return made


def _iso(value) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _answer(question, rng: random.Random):
    if question.kind == "single":
        return rng.randrange(len(question.options))
    if question.kind == "multiple":
        return rng.sample(range(len(question.options)), rng.randint(1, len(question.options)))
    return rng.choice(["X-Api-Key", "stop", "no idea"])


def _samples(rng: random.Random) -> list[dict]:
    samples = []
    for _ in range(rng.randint(3, 12)):
        metrics = {code: rng.randint(0, 100) for code in rng.sample(METRIC_CODES, 3)}
        peak = max(metrics, key=metrics.get)
        score = 100 - metrics[peak]
        samples.append({"score": score, "threshold": 50, "violated": score < 50,
                        "peak": peak, "metrics": metrics})
    return samples


def _counts() -> dict:
    from sqlalchemy import func, select

    from portal.exams.models import Attempt
    from portal.extensions import db
    from portal.proctoring.models import ProctoringResult, WebhookDelivery

    def count(column):
        return db.session.scalar(select(func.count(column)))

    return {"deliveries": count(WebhookDelivery.id), "results": count(ProctoringResult.id),
            "attempts": count(Attempt.id)}


def count(args: argparse.Namespace) -> None:
    from portal.extensions import db
    with _app().app_context():
        print(json.dumps(_counts()))
        db.session.remove()


# ---- login ---------------------------------------------------------------------------

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
POLL_URL = re.compile(r'id="results-live"[^>]*hx-get="([^"]+)"')


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


def login(args: argparse.Namespace) -> None:
    import html

    base = args.base.rstrip("/")
    data = json.loads(Path(args.seed).read_text(encoding="utf-8"))
    question = data["questions"][0]
    students = []
    for student in data["students"]:
        http = _session(base, student["username"], data["student_password"])
        page = http.get(f"{base}/attempts/{student['attempt']}", timeout=30)
        page.raise_for_status()
        token = CSRF_META.search(page.text).group(1)
        # One save with requests: if this fails, wrk would only measure errors.
        check = http.put(f"{base}/api/attempts/{student['attempt']}/answers/{question['id']}",
                         json={"value": None}, headers={"X-CSRFToken": token}, timeout=30)
        if check.status_code != 200:
            sys.exit(f"seed.py login: a save answered HTTP {check.status_code}: {check.text[:300]}")
        students.append({"cookie": _cookie_header(http), "csrf": token,
                         "attempt": student["attempt"]})

    http = _session(base, data["instructor"]["username"], data["instructor"]["password"])
    page = http.get(f"{base}/dashboard/", timeout=60)
    page.raise_for_status()
    poll = POLL_URL.search(page.text)
    if not poll:
        sys.exit("seed.py login: no polled region (id=results-live hx-get) on /dashboard/")
    poll_url = html.unescape(poll.group(1))
    partial = http.get(base + poll_url, timeout=60)
    lua = {
        "user_agent": USER_AGENT,
        "webhook_key": os.environ["PROCTOR_WEBHOOK_KEY"],
        "webhook_header": os.environ.get("PROCTOR_WEBHOOK_HEADER", "X-Api-Key"),
        "identifiers": data["webhook_identifiers"],
        "students": students,
        "questions": data["questions"],
        "instructor_cookie": _cookie_header(http),
        "poll_url": poll_url,
    }
    Path(args.lua).write_text("return " + _lua(lua) + "\n", encoding="utf-8")
    print(f"logged in {len(students)} students and the instructor; dashboard "
          f"{len(page.content)} bytes, poll {poll_url} -> HTTP {partial.status_code}")


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
    p.add_argument("--students", type=int, default=32)
    p.add_argument("--attempts", type=int, default=2000)
    p.add_argument("--results", type=int, default=1500)
    p.set_defaults(func=seed)
    p = sub.add_parser("login")
    p.add_argument("--base", required=True)
    p.add_argument("--seed", required=True)
    p.add_argument("--lua", required=True)
    p.set_defaults(func=login)
    sub.add_parser("count").set_defaults(func=count)
    for name, func in (("pg-create", pg_create), ("pg-drop", pg_drop)):
        p = sub.add_parser(name)
        p.add_argument("url")
        p.set_defaults(func=func)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()

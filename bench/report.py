#!/usr/bin/env python3
"""Turn the runs of `bench/run.sh` into a markdown table and check issue 14's targets.

    report.py [--markdown FILE] LEG_DIR [LEG_DIR ...]

Each LEG_DIR holds wrk-<scenario>.txt (wrk's output, with the BENCH_JSON line that
bench/common.lua prints), extra.json (delivery counts), rss.jsonl (each worker's RSS
after every run), access-hello.log and access-portal.log (gunicorn's, with the server
time %(D)s last), and for the SQLite leg inprocess.json (bench/inprocess.py). Prints
the table, every throughput as a ratio to the hello-world baseline of the same leg, and
one PASS/FAIL line per target; exits 1 if any target fails, unless BENCH_REPORT_ONLY=1
(then FAILs are reported and the exit status is 0). A missing or unreadable run is
always an error (exit 2): the report cannot say anything about it.

The targets are issue 14's, verbatim, not figures derived from today's code.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

# scenario: (what, access log, request path pattern)
SCENARIOS = {
    "hello_32": ("baseline: hello-world Flask, GET /", "hello", r"^/$"),
    "hello_64": ("baseline: hello-world Flask, GET /", "hello", r"^/$"),
    "healthz": ("GET /healthz", "portal", r"^/healthz"),
    "saves": ("PUT /api/attempts/<id>/answers/<qid>", "portal", r"^/api/attempts/\d+/answers/"),
    "dashboard": ("GET /dashboard/ (10,000 attempts)", "portal", r"^/dashboard/(\?|$)"),
    "dashboard_rows": ("GET /dashboard/rows?v= (live partial, as polled, unchanged)", "portal",
                       r"^/dashboard/rows"),
    "webhook": ("POST /api/proctoring/webhook", "portal", r"^/api/proctoring/webhook"),
    "mix": ("exam-day mix: metrics 6 : saves 3 : questions 1 : token 1", "portal",
            r"^/api/attempts/\d+/(metrics|answers/\d+|questions|token)$"),
    "mix_4": ("the same mix (capacity sweep)", "portal",
              r"^/api/attempts/\d+/(metrics|answers/\d+|questions|token)$"),
    "mix_8": ("the same mix (capacity sweep)", "portal",
              r"^/api/attempts/\d+/(metrics|answers/\d+|questions|token)$"),
    "mix_16": ("the same mix (capacity sweep)", "portal",
               r"^/api/attempts/\d+/(metrics|answers/\d+|questions|token)$"),
}
MIX_PARTS = {"metrics": r"/metrics$", "save": r"/answers/\d+$", "questions": r"/questions$",
             "token": r"/token$"}
# Issue 14's targets.
RATIO_TARGETS = {  # scenario: (connections, min ratio to hello-world, max p99 ms)
    "webhook": (32, 0.35, 100.0),
    "mix": (64, 0.35, 150.0),
}
POLL_MAX_MS = 5.0
PAGE_MAX_MS = 100.0
PAGE_ATTEMPTS, PAGE_SAMPLES = 10_000, 100_000
# "Memory per worker flat": RSS after the last run within this of RSS after the warm-up.
RSS_GROWTH_MAX_MIB = 16
THROTTLED = 429  # the page metrics limit; counted apart from errors
# Capacity: a student's page sends one request every ~5.5 s (the mix's 11 requests:
# 6 metrics posts at one per 10 s, 3 saves, a question fetch and a token per reload).
SECONDS_PER_REQUEST = 5.5
CAPACITY_P99_MS = 250.0
SWEEP = ("mix_4", "mix_8", "mix_16", "mix")  # the mix at 4, 8, 16 and 64 connections

ACCESS_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) .* (?P<us>\d+)$')


class Unreadable(Exception):
    """A run's output is missing or unreadable: the report cannot judge it (exit 2)."""


def read_wrk(path: Path) -> dict:
    if not path.exists():
        raise Unreadable(f"report.py: {path} is missing (the run did not happen)")
    text = path.read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            run = json.loads(line[len("BENCH_JSON "):])
            conns = re.search(r"(\d+) connections", text)
            run["connections"] = int(conns.group(1)) if conns else None
            return run
    raise Unreadable(f"report.py: no BENCH_JSON line in {path}:\n{text[-2000:]}")


def server_log(leg: Path, log: str) -> list[tuple[str, int, int]]:
    """(path, status, server µs) of every request in access-<log>.log."""
    access = leg / f"access-{log}.log"
    found = []
    for line in access.read_text(encoding="utf-8", errors="replace").splitlines():
        match = ACCESS_LINE.search(line)
        if match:
            found.append((match["path"], int(match["status"]), int(match["us"])))
    return found


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def ms(us: float) -> float:
    return float(us) / 1000.0


def _windows(leg: Path, scenarios: list[str]) -> dict[str, list[tuple[str, int, int]]]:
    """Each scenario's requests in the server's access log. The runs are sequential, so
    a scenario's lines are those matching its path between the previous run's and its
    own; the setup (logins, checks, warm-up) is left out by counting from the end."""
    result: dict[str, list] = {}
    for log in ("hello", "portal"):
        lines = server_log(leg, log)
        names = [s for s in scenarios if SCENARIOS[s][1] == log]
        # Walk backwards: the last run's requests are the last matching lines, etc.
        end = len(lines)
        for name in reversed(names):
            run = read_wrk(leg / f"wrk-{name}.txt")
            statuses = sum(run["statuses"].values())
            pattern = re.compile(SCENARIOS[name][2])
            picked, i = [], end
            while i > 0 and len(picked) < statuses:
                i -= 1
                if pattern.search(lines[i][0]):
                    picked.append(lines[i])
            # Requests answered after wrk stopped reading (in flight) belong to it too.
            result[name] = list(reversed(picked))
            end = i
    return result


def check_leg(leg: Path) -> tuple[list[str], list[tuple[bool, str]]]:
    """Markdown lines and (passed, message) checks for one leg."""
    name = leg.name
    if not (leg / "extra.json").exists():
        raise Unreadable(f"report.py: {leg / 'extra.json'} is missing (the leg did not finish)")
    extra = json.loads((leg / "extra.json").read_text(encoding="utf-8"))
    runs = {scenario: read_wrk(leg / f"wrk-{scenario}.txt") for scenario in SCENARIOS}
    served = _windows(leg, list(SCENARIOS))
    rps = {s: r["requests"] / (r["duration_us"] / 1e6) for s, r in runs.items()}
    lines = [f"### {name}", "",
             f"gunicorn `{extra['gunicorn']}` for the baseline and the portal; wrk -t2 on the "
             f"same {extra['nproc']} CPUs."
             + (f" SQLite `synchronous={extra.get('sqlite_synchronous', 'FULL')}`."
                if name == "sqlite" else ""), "",
             "| scenario | conns | req/s | x hello | p50 ms | p99 ms | max ms | requests "
             "| errors | 429 | server p50 / p99 ms | server statuses |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    checks: list[tuple[bool, str]] = []
    notes: list[str] = []  # printed after the table
    for scenario, (what, _, _) in SCENARIOS.items():
        run, conns = runs[scenario], runs[scenario]["connections"]
        baseline = "hello_64" if (conns or 0) >= 64 else "hello_32"
        ratio = rps[scenario] / rps[baseline] if rps[baseline] else 0.0
        lat = run["latency_us"]
        statuses = {int(k): v for k, v in run["statuses"].items()}
        throttled = statuses.get(THROTTLED, 0)
        non2xx = sum(v for k, v in statuses.items() if not 200 <= k < 300 and k != THROTTLED)
        socket_errors = sum(v for k, v in run["errors"].items() if k != "status")
        server = served[scenario]
        codes = Counter(status for _, status, _ in server)
        bad_server = {c: n for c, n in codes.items() if not 200 <= c < 300 and c != THROTTLED}
        times = [ms(us) for _, _, us in server]
        lines.append(
            f"| {what} | {conns} | {rps[scenario]:.0f} | {ratio:.3f} | {ms(lat['p50']):.1f} "
            f"| {ms(lat['p99']):.1f} | {ms(lat['max']):.0f} | {run['requests']} "
            f"| {non2xx + socket_errors} | {throttled} "
            f"| {percentile(times, 50):.1f} / {percentile(times, 99):.1f} "
            f"| {', '.join(f'{c}: {n}' for c, n in sorted(codes.items()))} |")
        checks.append((non2xx == 0 and socket_errors == 0 and not bad_server,
                       f"[{name}] {scenario}: errors: {non2xx} non-2xx (429 apart), "
                       f"{socket_errors} socket errors seen by wrk; server sent "
                       f"{bad_server or 'no error status'} (target: 0 errors)"))
        if scenario in RATIO_TARGETS:
            want_conns, min_ratio, max_p99 = RATIO_TARGETS[scenario]
            checks.append((ratio >= min_ratio and conns == want_conns,
                           f"[{name}] {scenario}: {rps[scenario]:.0f} req/s = {ratio:.3f} x "
                           f"hello-world ({rps[baseline]:.0f} req/s) at {conns} connections "
                           f"(target >= {min_ratio} x at {want_conns})"))
            checks.append((ms(lat["p99"]) <= max_p99,
                           f"[{name}] {scenario}: p99 {ms(lat['p99']):.1f} ms at {conns} "
                           f"connections (target <= {max_p99:.0f} ms)"))
        if scenario.startswith("mix"):
            checks.append((throttled == 0 and not codes.get(THROTTLED),
                           f"[{name}] {scenario}: {throttled} answers 429 (the metrics limit) "
                           f"seen by wrk, {codes.get(THROTTLED, 0)} sent by the server (target: "
                           "0, else the run measured the limit: seed more attempts)"))
        if scenario == "mix":
            parts = {part: Counter(status for path, status, _ in server if re.search(p, path))
                     for part, p in MIX_PARTS.items()}
            notes += ["", "Mix, per request kind (server's access log): " + "; ".join(
                f"{part} {sum(c.values())} ({', '.join(f'{k}: {v}' for k, v in sorted(c.items()))})"
                for part, c in parts.items()) + "."]

    lines += notes
    # Nothing lost: every delivery the server answered 200 is in the log, and wrk's 200s
    # are all there (the log may hold up to one extra per connection: requests in
    # flight when wrk stopped its clock, stored and answered after it stopped reading).
    stored = extra["deliveries_after"]["deliveries"] - extra["deliveries_before"]["deliveries"]
    wrk_200 = int(runs["webhook"]["statuses"].get("200", 0))
    in_flight = extra["webhook_connections"]
    logged_200, logged_all = extra["server_log_200"], extra["server_log_all"]
    checks.append((stored == logged_200 == logged_all,
                   f"[{name}] webhook log: {stored} new rows in webhook_deliveries, "
                   f"{logged_200} deliveries the server answered 200 "
                   f"({logged_all} webhook lines in all) (target: all equal)"))
    checks.append((wrk_200 <= stored <= wrk_200 + in_flight,
                   f"[{name}] webhook log vs wrk: {wrk_200} answers 200 counted by wrk, "
                   f"{stored} rows stored, {stored - wrk_200} answered after wrk's clock "
                   f"stopped (target: 0..{in_flight}, one per connection)"))
    outcomes = Counter(re.findall(r"webhook delivery .* outcome=(\S+) http=",
                                  (leg / "portal.log").read_text(errors="replace")))
    lines += ["", f"Webhook deliveries: wrk counted {wrk_200} answers 200; the log gained "
                  f"{stored} rows; the server logged {logged_200} deliveries answered 200 "
                  f"(outcomes over the leg: "
                  f"{', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))})."]

    lines += _capacity(leg)
    lines += _memory(leg, name, checks)
    counts = extra["counts"]
    lines += ["", f"Database at the end: {counts['attempts']} attempts, {counts['samples']} "
                  f"metric samples, {counts['results']} results, {counts['deliveries']} "
                  f"logged deliveries.",
              "", f"Load average (1, 5, 15 min) at the start of the leg: {extra['load_before']}; "
                  f"at the end: {extra['load_after']} ({extra['nproc']} CPUs)."]
    if (leg / "inprocess.json").exists():
        lines += _dashboard_in_process(leg, name, checks)
    return lines, checks


def _capacity(leg: Path) -> list[str]:
    """Concurrent students one host holds at p99 <= CAPACITY_P99_MS: the highest mix
    throughput measured within that p99, times the seconds between a student's requests."""
    found = []
    for scenario in SWEEP:
        path = leg / f"wrk-{scenario}.txt"
        if path.exists():
            run = read_wrk(path)
            found.append((run["connections"], run["requests"] / (run["duration_us"] / 1e6),
                          ms(run["latency_us"]["p99"])))
    if not found:
        return []
    within = [(c, r, p) for c, r, p in found if p <= CAPACITY_P99_MS]
    runs = ", ".join(f"{c} connections: {r:.0f} req/s, p99 {p:.0f} ms" for c, r, p in found)
    if not within:
        return ["", f"Capacity: the mix ({runs}) never had p99 <= {CAPACITY_P99_MS:.0f} ms: "
                    "no capacity can be stated at that latency."]
    conns, rps, p99 = max(within, key=lambda run: run[1])
    return ["", f"Capacity at p99 <= {CAPACITY_P99_MS:.0f} ms: the mix ran at {runs}; the "
                f"highest throughput within the p99 is {rps:.0f} req/s ({conns} connections, "
                f"p99 {p99:.0f} ms); one student sends one request every ~{SECONDS_PER_REQUEST} "
                f"s, so one host holds {rps:.0f} x {SECONDS_PER_REQUEST} = "
                f"**{rps * SECONDS_PER_REQUEST:,.0f} concurrent students**."]


def _memory(leg: Path, name: str, checks: list) -> list[str]:
    """RSS per worker after every portal run; flat = last within the limit of warm-up."""
    series = [json.loads(line) for line in (leg / "rss.jsonl").read_text().splitlines()
              if line.strip()]
    portal = [s for s in series if not s["after"].startswith("hello")]
    first, last = portal[0], portal[-1]
    lines = ["", "RSS per worker (MiB) after each run: " + "; ".join(
        f"{s['after']} " + "/".join(f"{w['kib'] / 1024:.0f}" for w in s["workers"])
        for s in portal) + "."]
    checks.append((len(last["workers"]) == 2,
                   f"[{name}] gunicorn workers found: {len(last['workers'])} (target: 2)"))
    start = {w["pid"]: w["kib"] for w in first["workers"]}
    for worker in last["workers"]:
        grown = (worker["kib"] - start.get(worker["pid"], 0)) / 1024
        checks.append((worker["pid"] in start and grown <= RSS_GROWTH_MAX_MIB,
                       f"[{name}] worker {worker['pid']}: RSS {worker['kib'] / 1024:.0f} MiB "
                       f"after the runs, {grown:+.1f} MiB since the warm-up (target: flat, "
                       f"<= +{RSS_GROWTH_MAX_MIB} MiB; same process)"))
    return lines


def _dashboard_in_process(leg: Path, name: str, checks: list) -> list[str]:
    data = json.loads((leg / "inprocess.json").read_text(encoding="utf-8"))
    small, large = data["small"], data["large"]
    lines = ["", "Dashboard in process (bench/inprocess.py: one request at a time, median "
                 "server time, SQL statements counted with SQLAlchemy events):", "",
             "| database | attempts | samples | first page ms | page queries "
             "| poll (unchanged) ms | poll status | poll queries |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, d in (("small", small), ("large", large)):
        lines.append(f"| {label} | {d['attempts']} | {d['samples']} | {d['page']['ms_median']:.1f} "
                     f"| {d['page']['queries']} | {d['poll']['ms_median']:.1f} "
                     f"| {', '.join(map(str, d['poll']['statuses']))} | {d['poll']['queries']} |")
    for label, d in (("small", small), ("large", large)):
        checks.append((d["poll"]["ms_median"] <= POLL_MAX_MS and d["poll"]["statuses"] == [204],
                       f"[{name}] dashboard poll, nothing changed, {d['attempts']} attempts: "
                       f"{d['poll']['ms_median']:.1f} ms server time, HTTP "
                       f"{'/'.join(map(str, d['poll']['statuses']))} (target <= {POLL_MAX_MS:.0f} "
                       "ms, 204, whatever the number of attempts)"))
    big_enough = large["attempts"] >= PAGE_ATTEMPTS and large["samples"] >= PAGE_SAMPLES
    checks.append((big_enough and large["page"]["ms_median"] <= PAGE_MAX_MS,
                   f"[{name}] dashboard first page: {large['page']['ms_median']:.1f} ms server "
                   f"time with {large['attempts']} attempts and {large['samples']} samples "
                   f"(target <= {PAGE_MAX_MS:.0f} ms with {PAGE_ATTEMPTS:,} and {PAGE_SAMPLES:,})"))
    for part in ("page", "poll"):
        checks.append((small[part]["queries"] == large[part]["queries"],
                       f"[{name}] dashboard {part} queries: {small[part]['queries']} with "
                       f"{small['attempts']} attempts, {large[part]['queries']} with "
                       f"{large['attempts']} (target: does not grow with the rows)"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("legs", nargs="+", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()

    lines: list[str] = []
    checks: list[tuple[bool, str]] = []
    for leg in args.legs:
        try:
            leg_lines, leg_checks = check_leg(leg)
        except Unreadable as error:
            print(error, file=sys.stderr)
            sys.exit(2)
        lines += leg_lines + [""]
        checks += leg_checks
    lines += ["| target | result |", "|---|---|"]
    lines += [f"| {message} | {'PASS' if ok else '**FAIL**'} |" for ok, message in checks]
    report = "\n".join(lines) + "\n"
    print(report)
    for ok, message in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {message}")
    if args.markdown:
        args.markdown.write_text(report, encoding="utf-8")
    failed = sum(not ok for ok, _ in checks)
    report_only = os.environ.get("BENCH_REPORT_ONLY") == "1"
    print(f"\n{len(checks) - failed} PASS, {failed} FAIL"
          + (" (BENCH_REPORT_ONLY=1: exit status 0)" if failed and report_only else ""))
    sys.exit(1 if failed and not report_only else 0)


if __name__ == "__main__":
    main()

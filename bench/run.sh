#!/usr/bin/env bash
# `make bench`: load benchmarks of the portal with wrk (see docs/benchmarks.md).
#
# For each leg (SQLite always; PostgreSQL too when BENCH_DATABASE_URL is set): a fresh
# throw-away database, migrated and seeded (bench/seed.py: 10,000 attempts, 4,000 of
# them running for 500 students, 100,000 metric samples), then, on 127.0.0.1:
#   the baseline: hello-world Flask (bench/hello.py) under the same gunicorn command
#   as the portal (GUNICORN_ARGS), at 32 connections right before the webhook run and
#   at 64 right before the mix (the ratios' denominators, measured under the same load);
#   the portal under that command (gunicorn.conf.py, as `make run` serves it), sessions
#   made once with requests, a short warm-up, then bounded wrk runs: healthz, dashboard
#   page and live partial, answer saves, webhook deliveries (32 connections), the
#   students' exam-day mix (64 connections, then 4, 8 and 16 for the capacity);
# then the delivery-log check (nothing lost), each worker's RSS after every run, and
# (SQLite leg) bench/inprocess.py: the dashboard's server time and query count at
# 1,000 and 10,000 attempts. bench/report.py prints every throughput as a ratio to the
# baseline, and PASS/FAIL per target of issue 14; it exits non-zero on a FAIL unless
# BENCH_REPORT_ONLY=1.
#
# Settings: BENCH_DURATION (wrk -d of the baseline, webhook and mix runs, default 8s),
# BENCH_SHORT (the other runs, default 5s), BENCH_DATABASE_URL (postgresql://..., a
# role that may CREATE DATABASE: a portal_bench_<random> database is created next to
# the one named, and dropped at the end), BENCH_KEEP=1 keeps the work folder (logs,
# databases), BENCH_OUT (where the markdown report is copied; default: the work folder),
# BENCH_REPORT_ONLY=1 (report FAILs, exit 0), BENCH_GUNICORN (the gunicorn command's
# workers and threads, for comparison only). The portal's own settings come from the
# environment as usual: SQLITE_SYNCHRONOUS=NORMAL measures that (weaker) setting, and the
# report says which one ran.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
DURATION=${BENCH_DURATION:-8s}
SHORT=${BENCH_SHORT:-5s}
THREADS=2
HOST=127.0.0.1
# One gunicorn command for the baseline and the portal: the one issue 14 defines its
# targets by ("hello-world Flask under the same gunicorn (`-w 2 -k sync`)"): two
# processes, one request at a time each. BENCH_GUNICORN overrides it (e.g. "--workers 2
# --threads 4", the command of `make run`), for comparison only: the targets are defined
# by the issue's command.
read -r -a GUNICORN_ARGS <<<"${BENCH_GUNICORN:---workers 2 --worker-class sync --threads 1}"

# gunicorn's default access-log format plus %(D)s, the server time in microseconds.
ACCESS_FORMAT='%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'

if ! command -v wrk >/dev/null 2>&1; then
  echo "== installing wrk (apt)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

WORK=$(mktemp -d /tmp/portal-bench.XXXXXX)
server_pid=""
pg_database=""

hello_pid=""

stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
stop_hello() {
  if [ -n "$hello_pid" ]; then
    kill -TERM "$hello_pid" 2>/dev/null || true
    wait "$hello_pid" 2>/dev/null || true
    hello_pid=""
  fi
}
cleanup() {
  stop_server
  stop_hello
  if [ -n "$pg_database" ]; then
    "$BIN/python" bench/seed.py pg-drop "$pg_database" || echo "could not drop $pg_database" >&2
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "(work folder kept: $WORK)"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The portal's settings for the bench: demo mode, fixed throw-away secrets, nothing read
# from a developer's instance/config.py that matters here (environment wins).
export PORTAL_MODE=demo
export SECRET_KEY=bench-secret-key-not-for-production
export PROCTOR_JWT_SECRET=bench-proctor-jwt-secret-0123456789
export PROCTOR_WEBHOOK_KEY=bench-webhook-key-0123456789
export PROCTOR_WEBHOOK_HEADER=X-Api-Key
export OUTBOX_IN_PROCESS_WORKER=0
export RATELIMIT_STORAGE_URI=memory://
export LOG_LEVEL=INFO
# 501 logins from 127.0.0.1 before the runs (logins themselves are not benchmarked).
export LOGIN_RATE_LIMIT="100000 per minute"
export BENCH_DIR=$ROOT/bench

# serve <app> <log prefix>: gunicorn with GUNICORN_ARGS on a free port; sets BASE.
serve() {
  local app=$1 name=$2 port
  port=$(free_port)
  BASE=http://$HOST:$port
  export PUBLIC_URL=$BASE
  local conf=()
  [ -f gunicorn.conf.py ] && conf=(--config gunicorn.conf.py)
  "$BIN/gunicorn" "${conf[@]}" "${GUNICORN_ARGS[@]}" --bind "$HOST:$port" \
    --access-logfile "$LEG_DIR/access-$name.log" --access-logformat "$ACCESS_FORMAT" \
    --log-level warning "$app" 2>>"$LEG_DIR/$name.log" &
  server_pid=$!
  for _ in $(seq 60); do
    curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && return 0
    curl -fsS -o /dev/null "$BASE/" 2>/dev/null && [ "$name" = hello ] && return 0
    kill -0 "$server_pid" 2>/dev/null || { tail -20 "$LEG_DIR/$name.log"; return 1; }
    sleep 0.5
  done
  echo "$app did not start"; tail -20 "$LEG_DIR/$name.log"; return 1
}

# wrk <scenario> <duration> <connections> <script> [script args...]: one bounded run,
# then each worker's RSS (rss.jsonl, one line per run).
run_wrk() {
  local scenario=$1 duration=$2 connections=$3 script=$4; shift 4
  local out=$LEG_DIR/wrk-$scenario.txt
  echo "-- $scenario: wrk -t$THREADS -c$connections -d$duration"
  BENCH_SCENARIO=$scenario BENCH_DATA=${BENCH_DATA:-$LEG_DIR/data.lua} \
    wrk -t"$THREADS" -c"$connections" -d"$duration" --timeout 10s --latency \
        -s "bench/$script" "$BASE/" -- "$@" >"$out" 2>&1 || { cat "$out"; return 1; }
  grep -E "Requests/sec|Latency  |Non-2xx|Socket errors" "$out" | sed 's/^/   /'
  echo "{\"after\": \"$scenario\", \"workers\": $(worker_rss)}" >>"$LEG_DIR/rss.jsonl"
}

worker_rss() {  # JSON list of the gunicorn workers' (the master's children) VmRSS
  local rss="" pid
  for pid in $(cat /proc/"$server_pid"/task/*/children); do
    rss+="${rss:+, }{\"pid\": $pid, \"kib\": $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")}"
  done
  echo "[$rss]"
}

count_log() {  # webhook log lines of the portal so far, by answer
  grep -c "webhook delivery .* http=$1 " "$LEG_DIR/portal.log" || true
}

settle() {  # wait until the portal has logged no new line for a second
  local seen=-1 now_seen
  for _ in $(seq 30); do
    sleep 1
    now_seen=$(wc -l <"$LEG_DIR/access-portal.log")
    [ "$now_seen" = "$seen" ] && break
    seen=$now_seen
  done
}

run_leg() {
  local leg=$1
  export DATABASE_URL=$2
  LEG_DIR=$WORK/$leg
  mkdir -p "$LEG_DIR"
  echo "== $leg leg"
  local load_before; load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  "$BIN/flask" --app wsgi db upgrade >"$LEG_DIR/migrate.log" 2>&1 || { cat "$LEG_DIR/migrate.log"; return 1; }
  "$BIN/python" bench/seed.py seed --out "$LEG_DIR/seed.json" 2>>"$LEG_DIR/portal.log" \
    || { tail -30 "$LEG_DIR/portal.log"; return 1; }

  # The baseline: hello-world under the same gunicorn, started now and measured right
  # before the portal run it is compared with (the machine's load drifts within a leg;
  # the idle server of the two costs nothing meanwhile).
  echo 'return {user_agent = "portal-bench/1"}' >"$LEG_DIR/hello.lua"
  serve bench.hello:app hello
  local hello_base=$BASE
  hello_pid=$server_pid server_pid=""

  serve wsgi:app portal
  "$BIN/python" bench/seed.py login --base "$BASE" --seed "$LEG_DIR/seed.json" --lua "$LEG_DIR/data.lua"
  # Warm-up (not reported): every code path of the mix once, caches filled.
  run_wrk warmup 3s 16 mix.lua
  settle

  run_wrk healthz "$SHORT" 32 healthz.lua
  run_wrk saves "$SHORT" 16 saves.lua
  settle
  run_wrk dashboard "$SHORT" 16 dashboard.lua page
  # The poll as the page sends it while nothing changes: the digest of the table now,
  # read when it stays valid for the whole run (it holds the current minute).
  "$BIN/python" bench/seed.py poll-url --base "$BASE" --lua "$LEG_DIR/data.lua" \
    --valid-for "$((${SHORT%s} + 3))"
  run_wrk dashboard_rows "$SHORT" 16 dashboard.lua rows

  local before ok_before bad_before
  before=$("$BIN/python" bench/seed.py count 2>/dev/null)
  ok_before=$(count_log 200); bad_before=$(grep -c "webhook delivery" "$LEG_DIR/portal.log" || true)
  BASE=$hello_base BENCH_DATA=$LEG_DIR/hello.lua run_wrk hello_32 "$DURATION" 32 hello.lua
  run_wrk webhook "$DURATION" 32 webhook.lua
  # Requests in flight when wrk stopped its clock still finish (stored and logged).
  settle
  local after ok_after bad_after
  after=$("$BIN/python" bench/seed.py count 2>/dev/null)
  ok_after=$(count_log 200); bad_after=$(grep -c "webhook delivery" "$LEG_DIR/portal.log" || true)

  BASE=$hello_base BENCH_DATA=$LEG_DIR/hello.lua run_wrk hello_64 "$DURATION" 64 hello.lua
  run_wrk mix "$DURATION" 64 mix.lua
  settle
  # The capacity sweep: the same mix at fewer connections (the p99 <= 250 ms point).
  run_wrk mix_4 "$SHORT" 4 mix.lua
  run_wrk mix_8 "$SHORT" 8 mix.lua
  run_wrk mix_16 "$SHORT" 16 mix.lua
  settle

  cat >"$LEG_DIR/extra.json" <<JSON
{"leg": "$leg", "nproc": $(nproc), "webhook_connections": 32,
 "gunicorn": "${GUNICORN_ARGS[*]}", "sqlite_synchronous": "${SQLITE_SYNCHRONOUS:-FULL}",
 "load_before": "$load_before", "load_after": "$(cut -d' ' -f1-3 /proc/loadavg)",
 "deliveries_before": $before, "deliveries_after": $after,
 "server_log_200": $((ok_after - ok_before)), "server_log_all": $((bad_after - bad_before)),
 "counts": $("$BIN/python" bench/seed.py count 2>/dev/null),
 "master_kib": $(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")}
JSON
  stop_server
  stop_hello
}

run_leg sqlite "sqlite:///$WORK/bench.sqlite"
legs=("$WORK/sqlite")
# In process, on the SQLite leg's database (10,000+ attempts) and a small one (1,000):
# the dashboard's server time and query count (bench/inprocess.py).
echo "== dashboard in process"
DATABASE_URL="sqlite:///$WORK/small.sqlite" "$BIN/flask" --app wsgi db upgrade >"$WORK/small-migrate.log" 2>&1
DATABASE_URL="sqlite:///$WORK/small.sqlite" "$BIN/python" bench/seed.py seed --out "$WORK/small.json" \
  --students 100 --attempts 1000 --samples 10000 --results 150 2>>"$WORK/small.log" >/dev/null
"$BIN/python" bench/inprocess.py dashboard --out "$WORK/sqlite/inprocess.json" \
  "sqlite:///$WORK/small.sqlite" "sqlite:///$WORK/bench.sqlite" 2>>"$WORK/small.log"
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  pg_database=$("$BIN/python" bench/seed.py pg-create "$BENCH_DATABASE_URL")
  run_leg postgresql "$pg_database"
  legs+=("$WORK/postgresql")
fi

echo "== report"
status=0
"$BIN/python" bench/report.py --markdown "$WORK/report.md" "${legs[@]}" || status=$?
if [ -n "${BENCH_OUT:-}" ]; then cp "$WORK/report.md" "$BENCH_OUT"; fi
exit "$status"

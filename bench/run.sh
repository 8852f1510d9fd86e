#!/usr/bin/env bash
# `make bench`: load benchmarks of the portal with wrk (see docs/benchmarks.md).
#
# For each leg (SQLite always; PostgreSQL too when BENCH_DATABASE_URL is set): a fresh
# throw-away database, migrated and seeded (bench/seed.py), the portal served by gunicorn
# exactly as `make run` serves it (--workers 2 --threads 4, gunicorn.conf.py) on
# 127.0.0.1, sessions made once with requests, then bounded wrk runs:
#   healthz, dashboard page, dashboard live partial, answer saves, webhook deliveries;
# then the delivery-log check (nothing lost) and each worker's RSS. bench/report.py
# prints the table and PASS/FAIL per target, and exits non-zero on a FAIL.
#
# Settings: BENCH_DURATION (wrk -d, default 10s), BENCH_DATABASE_URL (postgresql://...,
# a role that may CREATE DATABASE: a portal_bench_<random> database is created next to
# the one named, and dropped at the end), BENCH_KEEP=1 keeps the work folder (logs,
# databases), BENCH_OUT (where the markdown report is copied; default: the work folder).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.venv/bin
DURATION=${BENCH_DURATION:-10s}
THREADS=2
HOST=127.0.0.1

if ! command -v wrk >/dev/null 2>&1; then
  echo "== installing wrk (apt)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

WORK=$(mktemp -d /tmp/portal-bench.XXXXXX)
server_pid=""
pg_database=""

stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() {
  stop_server
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
# 33 logins from 127.0.0.1 before the runs (logins themselves are not benchmarked).
export LOGIN_RATE_LIMIT="1000 per minute"
export BENCH_DIR=$ROOT/bench

# wrk <scenario> <connections> <script> [script args...] <path>: one bounded run.
run_wrk() {
  local scenario=$1 connections=$2 script=$3; shift 3
  local out=$LEG_DIR/wrk-$scenario.txt
  echo "-- $scenario: wrk -t$THREADS -c$connections -d$DURATION"
  BENCH_SCENARIO=$scenario BENCH_DATA=$LEG_DIR/data.lua \
    wrk -t"$THREADS" -c"$connections" -d"$DURATION" --timeout 10s --latency \
        -s "bench/$script" "$BASE/" -- "$@" >"$out" 2>&1 || { cat "$out"; return 1; }
  grep -E "Requests/sec|Latency  |Non-2xx|Socket errors" "$out" | sed 's/^/   /'
}

count_log() {  # webhook log lines of the portal so far, by answer
  grep -c "webhook delivery .* http=$1 " "$LEG_DIR/portal.log" || true
}

run_leg() {
  local leg=$1
  export DATABASE_URL=$2
  LEG_DIR=$WORK/$leg
  mkdir -p "$LEG_DIR"
  echo "== $leg leg"
  local load_before; load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  "$BIN/flask" --app wsgi db upgrade >"$LEG_DIR/migrate.log" 2>&1 || { cat "$LEG_DIR/migrate.log"; return 1; }
  "$BIN/python" bench/seed.py seed --out "$LEG_DIR/seed.json" --students 32 \
    --attempts 2000 --results 1500 2>>"$LEG_DIR/portal.log" || { tail -30 "$LEG_DIR/portal.log"; return 1; }

  local port; port=$(free_port)
  BASE=http://$HOST:$port
  export PUBLIC_URL=$BASE
  local conf=()
  [ -f gunicorn.conf.py ] && conf=(--config gunicorn.conf.py)
  "$BIN/gunicorn" "${conf[@]}" --workers 2 --threads 4 --bind "$HOST:$port" \
    --access-logfile "$LEG_DIR/access.log" --log-level warning wsgi:app 2>>"$LEG_DIR/portal.log" &
  server_pid=$!
  for _ in $(seq 60); do
    curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { tail -20 "$LEG_DIR/portal.log"; return 1; }
    sleep 0.5
  done
  curl -fsS -o /dev/null "$BASE/healthz" || { echo "portal did not start"; tail -20 "$LEG_DIR/portal.log"; return 1; }
  "$BIN/python" bench/seed.py login --base "$BASE" --seed "$LEG_DIR/seed.json" --lua "$LEG_DIR/data.lua"

  run_wrk healthz 32 healthz.lua
  run_wrk dashboard 16 dashboard.lua page
  run_wrk dashboard_rows 16 dashboard.lua rows
  run_wrk saves 16 saves.lua

  local before ok_before bad_before
  before=$("$BIN/python" bench/seed.py count 2>/dev/null)
  ok_before=$(count_log 200); bad_before=$(grep -c "webhook delivery" "$LEG_DIR/portal.log" || true)
  run_wrk webhook 16 webhook.lua
  # Requests in flight when wrk stopped its clock still finish (stored and logged): wait
  # until the portal has logged no new delivery for a second.
  local seen=-1 now_seen
  for _ in $(seq 30); do
    sleep 1
    now_seen=$(grep -c "webhook delivery" "$LEG_DIR/portal.log" || true)
    [ "$now_seen" = "$seen" ] && break
    seen=$now_seen
  done
  local after ok_after bad_after
  after=$("$BIN/python" bench/seed.py count 2>/dev/null)
  ok_after=$(count_log 200); bad_after=$(grep -c "webhook delivery" "$LEG_DIR/portal.log" || true)

  # RSS of each gunicorn worker (the master's children) after all the runs.
  local rss="" pid
  for pid in $(cat /proc/"$server_pid"/task/*/children); do
    rss+="${rss:+, }{\"pid\": $pid, \"kib\": $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")}"
  done
  cat >"$LEG_DIR/extra.json" <<JSON
{"leg": "$leg", "nproc": $(nproc), "webhook_connections": 16,
 "load_before": "$load_before", "load_after": "$(cut -d' ' -f1-3 /proc/loadavg)",
 "deliveries_before": $before, "deliveries_after": $after,
 "server_log_200": $((ok_after - ok_before)), "server_log_all": $((bad_after - bad_before)),
 "workers": [$rss],
 "master_kib": $(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")}
JSON
  stop_server
}

run_leg sqlite "sqlite:///$WORK/bench.sqlite"
legs=("$WORK/sqlite")
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

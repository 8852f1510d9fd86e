#!/usr/bin/env bash
# `make run`: migrate, load demo data, serve the sandbox proctoring server and the portal.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-5000}
SANDBOX_PORT=${SANDBOX_PORT:-5001}

$BIN/python scripts/demo_instance.py init
export PUBLIC_URL=${PUBLIC_URL:-http://$HOST:$PORT}
export PROCTOR_URL=${PROCTOR_URL:-http://$HOST:$SANDBOX_PORT}
export CONSTRUCTOR_URL=${CONSTRUCTOR_URL:-$PROCTOR_URL}
export OUTBOX_IN_PROCESS_WORKER=${OUTBOX_IN_PROCESS_WORKER:-1}
eval "$($BIN/python scripts/demo_instance.py sandbox-env)"
export SANDBOX_PUBLIC_URL=${SANDBOX_PUBLIC_URL:-http://$HOST:$SANDBOX_PORT}
export SANDBOX_REVIEW_URL=${SANDBOX_REVIEW_URL:-$PUBLIC_URL/api/constructor/review}

# Migrate once, before any worker starts (never create tables at import).
$BIN/flask --app wsgi db upgrade
$BIN/flask --app wsgi demo load

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The sandbox keeps sessions, sockets and its delivery queue in one process: one worker;
# each open websocket holds a thread (python-socketio's threading mode), hence many.
$BIN/gunicorn --workers 1 --threads 100 --bind "$HOST:$SANDBOX_PORT" --access-logfile - \
  --log-level warning "sandbox:create_app()" &
pids+=($!)
portal_conf=()
[ -f gunicorn.conf.py ] && portal_conf=(--config gunicorn.conf.py)
$BIN/gunicorn "${portal_conf[@]}" --workers 2 --threads 4 --bind "$HOST:$PORT" \
  --access-logfile - --log-level warning wsgi:app &
pids+=($!)

sleep 1
cat <<TXT

  Exam portal:        $PUBLIC_URL
    students:         student1 / student, student2 / student, student3 / student
    instructor:       instructor / instructor
  Sandbox proctoring: $PROCTOR_URL
    proctor console:  $PROCTOR_URL/  (login: ${SANDBOX_CONSOLE_USER:-proctor} / ${SANDBOX_CONSOLE_PASSWORD:-sandbox})

  Ctrl-C stops both.
TXT
wait -n "${pids[@]}"

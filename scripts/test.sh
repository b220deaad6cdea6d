#!/usr/bin/env bash
# Command two of the README: runs ruff, mypy and the whole test suite against a throwaway
# PostgreSQL 15 and a throwaway redis-server, both started here and torn down on any exit.
# Arguments go to pytest (make test ARGS=... or scripts/test.sh tests/some/path); SKIP_LINT=1 skips ruff and mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL 15 binaries not found in $PG_BIN (set PG_BIN)" >&2
    exit 1
fi
if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server from the OS packages ..."
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

WORK=$(mktemp -d /tmp/tradingcore-test.XXXXXX)
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
REDIS_PID=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
    set +e
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    [ -f "$WORK/pg/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] && chown postgres "$WORK"
as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U postgres -A trust -E UTF8 --no-sync >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o \
    "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --logfile "$WORK/redis.log" &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/tradingcore"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export DJANGO_SECRET_KEY="test-secret-key-not-for-production"
export TRADING_ENCRYPTION_KEY="test-encryption-key"
export TRADING_VAR_DIR="$WORK/var"
echo "PostgreSQL on :$PG_PORT, Redis on :$REDIS_PORT"

status=0
if [ -z "${SKIP_LINT:-}" ]; then
    echo "== ruff"; .venv/bin/ruff check . || status=1
    echo "== mypy"; .venv/bin/mypy tradingcore positions orders config || status=1
fi
echo "== pytest"; .venv/bin/python -m pytest "$@" || status=1
exit $status

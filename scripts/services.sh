#!/usr/bin/env bash
# Sourced by test.sh and bench.sh: starts a throwaway PostgreSQL 15 and redis-server on free ports,
# exports DATABASE_URL / REDIS_URL, and tears both down when the sourcing script exits.
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
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

SERVICES_DIR=$(mktemp -d /tmp/tradingcore-services.XXXXXX)
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
REDIS_PID=""

stop_services() {
    set +e
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    [ -f "$SERVICES_DIR/pg/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -m immediate stop >/dev/null 2>&1
    rm -rf "$SERVICES_DIR"
}
trap stop_services EXIT INT TERM

[ "$(id -u)" = 0 ] && chown postgres "$SERVICES_DIR"
as_pg "$PG_BIN/initdb" -D "$SERVICES_DIR/pg" -U postgres -A trust -E UTF8 --no-sync >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -l "$SERVICES_DIR/pg.log" -w -o \
    "-p $PG_PORT -k $SERVICES_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --logfile "$SERVICES_DIR/redis.log" &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/tradingcore"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-throwaway-secret-key-not-for-production}"
export TRADING_ENCRYPTION_KEY="${TRADING_ENCRYPTION_KEY:-throwaway-encryption-key}"
export TRADING_VAR_DIR="$SERVICES_DIR/var"
echo "PostgreSQL on :$PG_PORT, Redis on :$REDIS_PORT"

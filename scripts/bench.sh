#!/usr/bin/env bash
# Runs the benchmarks in bench/ against a throwaway PostgreSQL 15 and redis-server (make bench).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
source scripts/services.sh
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres tradingcore
.venv/bin/python manage.py migrate --no-input >/dev/null
for bench in bench/bench_*.py; do
    echo "== $bench"
    .venv/bin/python "$bench" "$@"
done

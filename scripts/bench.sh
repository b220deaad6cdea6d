#!/usr/bin/env bash
# make bench: every benchmark in bench/ against a throwaway PostgreSQL 15 and redis-server, then one
# summary table (bench/summary.py): p50, p99, throughput, errors and CPU per request.
#
# 1. bench/bench_managers.py: the managers end to end on the paper exchange, and the reads
#    (open positions from the Redis projection: one, and 100 of one user; BENCH_SCALE, default 10,100);
# 2. bench/bench_http.py: position listing and order creation over HTTP through the production
#    server (the Procfile's web command, WEB_CONCURRENCY = cores) with the fill watcher beside it,
#    at 1, 8 and 32 concurrent clients;
# 3. bench/bench_legacy_import.py: import_legacy_redis, BENCH_LEGACY_POSITIONS (default 20,000)
#    HYPERRSI keys and BENCH_LEGACY_LEVELS (4,000) GRID levels, in its own redis-servers;
# 4. any other bench/bench_*.py.
# About four minutes on two cores. Arguments go to every bench (make bench ARGS="--seconds 4").
# BENCH_BASELINE=<commit> also runs bench_managers.py on that commit's code first (extracted with
# git archive, its own database and Redis db) and prints the speedup per call (bench/compare.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON="$ROOT/.venv/bin/python"
BASELINE=${BENCH_BASELINE:-}
bash scripts/venv.sh
source scripts/services.sh

WORK_DIR=$(mktemp -d /tmp/tradingcore-bench.XXXXXX)
cleanup() {
    rm -rf "$WORK_DIR"
    stop_services
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PG_URL_PREFIX="postgres://postgres@127.0.0.1:$PG_PORT"
REDIS_URL_PREFIX="redis://127.0.0.1:$REDIS_PORT"

baseline_available() {
    if ! git rev-parse --git-dir >/dev/null 2>&1; then
        echo "note: no git repository here; the baseline ($BASELINE) is skipped"
        return 1
    fi
    if ! git cat-file -e "$BASELINE^{commit}" 2>/dev/null; then
        local hint="fetch it to compare against it"
        [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = true ] && hint="this clone is shallow: git fetch --unshallow"
        echo "note: commit $BASELINE is not in this repository; the baseline is skipped ($hint)"
        return 1
    fi
}

run_baseline() {
    local tree="$WORK_DIR/baseline"
    mkdir -p "$tree"
    git archive "$BASELINE" | tar -x -C "$tree"
    as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres tradingcore_base
    echo "== bench/bench_managers.py on the baseline $(git rev-parse --short "$BASELINE") (code from $tree)"
    (
        cd "$tree"
        export DATABASE_URL="$PG_URL_PREFIX/tradingcore_base" REDIS_URL="$REDIS_URL_PREFIX/1"
        "$PYTHON" manage.py migrate --no-input >/dev/null
        BENCH_CODE_ROOT="$tree" BENCH_LABEL="baseline $BASELINE" \
            "$PYTHON" "$ROOT/bench/bench_managers.py" --json "$WORK_DIR/baseline.json" "$@"
    )
}

as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres tradingcore
"$PYTHON" manage.py migrate --no-input >/dev/null

if [ -n "$BASELINE" ] && baseline_available; then
    run_baseline "$@"
fi
failed=()
echo
echo "== bench/bench_managers.py on this tree ($(git describe --always --dirty 2>/dev/null || echo 'no git'))"
BENCH_LABEL="current" "$PYTHON" bench/bench_managers.py --scale "${BENCH_SCALE:-10,100}" \
    --json "$WORK_DIR/current.json" "$@" || failed+=(bench_managers.py)

if [ -f "$WORK_DIR/baseline.json" ] && [ -f "$WORK_DIR/current.json" ]; then
    echo
    echo "== speedup: baseline $BASELINE vs this tree, same session"
    "$PYTHON" bench/compare.py "$WORK_DIR/baseline.json" "$WORK_DIR/current.json"
fi

echo
echo "== bench/bench_http.py"
"$PYTHON" bench/bench_http.py --json "$WORK_DIR/http.json" "$@" || failed+=(bench_http.py)

echo
echo "== bench/bench_legacy_import.py"
"$PYTHON" bench/bench_legacy_import.py --positions "${BENCH_LEGACY_POSITIONS:-20000}" \
    --levels "${BENCH_LEGACY_LEVELS:-4000}" "$@" | tee "$WORK_DIR/legacy.log" || failed+=(bench_legacy_import.py)

for bench in bench/bench_*.py; do
    case "$bench" in bench/bench_managers.py | bench/bench_http.py | bench/bench_legacy_import.py) continue ;; esac
    echo
    echo "== $bench"
    "$PYTHON" "$bench" "$@" || failed+=("$(basename "$bench")")
done

echo
"$PYTHON" bench/summary.py --managers "$WORK_DIR/current.json" --http "$WORK_DIR/http.json" \
    --legacy "$WORK_DIR/legacy.log" --load-after "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi

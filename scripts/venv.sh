#!/usr/bin/env bash
# Creates .venv and installs the project with its dev extras; reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# Only the dependency lists decide whether to reinstall, not tool settings.
stamp=.venv/.installed-$(sed -n '/^\[project\]/,/^\[build-system\]/p' pyproject.toml | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
    echo "installing Python packages into .venv ..."
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi

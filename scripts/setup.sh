#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) from pyproject.toml.
# Idempotent: reinstalls only when pyproject.toml changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.tailor-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  extra=()
  # a local wheel folder (the pinned CPU torch lies there on these machines)
  [ -d /opt/wheels ] && extra+=(--find-links /opt/wheels)
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q "${extra[@]}" -e '.[dev]'
  echo "$want" > "$stamp"
fi

#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv): exactly the versions in
# requirements.lock (made from pyproject.toml by scripts/lock.sh), then tailor itself, editable.
# Idempotent: reinstalls only when pyproject.toml or requirements.lock changed since the last
# successful install; packages the lock does not list are removed, so `pip freeze --all` equals the lock.
# Needs python3 (3.11, with venv and pip) and access to PyPI; nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.tailor-installed
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # Where the locked CPU build of torch comes from: a local wheel folder on these machines,
  # else PyTorch's CPU index (PyPI has no +cpu builds).
  if [ -d /opt/wheels ]; then
    sources=(--find-links /opt/wheels)
  else
    sources=(--extra-index-url https://download.pytorch.org/whl/cpu)
  fi
  pip=(.venv/bin/python -m pip)
  # The lock is complete (every dependency pinned, pip and setuptools too), so nothing is resolved:
  # --no-deps, then pip check.
  "${pip[@]}" install -q "${sources[@]}" --no-deps -r requirements.lock
  "${pip[@]}" install -q --no-deps -e .
  extra=$("${pip[@]}" freeze --all --exclude-editable | .venv/bin/python -c '
import re, sys
norm = lambda line: re.sub(r"[-_.]+", "-", line.split("==")[0].split(" @ ")[0].strip()).lower()
pinned = lambda lines: {norm(x) for x in lines if x.strip() and not x.lstrip().startswith(("#", "-"))}
print(" ".join(sorted(pinned(sys.stdin) - pinned(open("requirements.lock")) - {"tailor", "pip"})))')
  if [ -n "$extra" ]; then
    # shellcheck disable=SC2086  # names, split on purpose
    "${pip[@]}" uninstall -q -y $extra
  fi
  broken=$("${pip[@]}" check) || { echo "$broken" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

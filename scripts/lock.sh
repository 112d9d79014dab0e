#!/usr/bin/env bash
# Upgrade the locked dependencies: resolve pyproject.toml afresh (the newest versions its ranges
# allow) in a temporary venv without the lock, freeze that venv into requirements.lock, then run
# the test suite on exactly those versions (bash scripts/test.sh, which re-syncs .venv to the lock).
# Usage: bash scripts/lock.sh [--no-test]    Then review and commit requirements.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
if [ -d /opt/wheels ]; then
  sources=(--find-links /opt/wheels)
else
  sources=(--extra-index-url https://download.pytorch.org/whl/cpu)
fi
pip=("$tmp/venv/bin/python" -m pip)
"${pip[@]}" install -q --upgrade pip
"${pip[@]}" install -q "${sources[@]}" -e '.[dev]'
"${pip[@]}" check
# --all: pip and setuptools too (torch needs setuptools at run time), so they are pinned like the rest
{
  echo "# Every package of tailor's .venv at its exact version ($("$tmp/venv/bin/python" -V), $(uname -sm)); tailor aside."
  echo "# Made from pyproject.toml by 'bash scripts/lock.sh'; installed by scripts/setup.sh. Do not edit by hand."
  "${pip[@]}" freeze --all --exclude-editable
} > requirements.lock.new
mv requirements.lock.new requirements.lock
echo "wrote requirements.lock ($(grep -vc '^#' requirements.lock) packages)"
if [ "${1:-}" != "--no-test" ]; then
  bash scripts/test.sh
fi

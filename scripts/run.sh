#!/usr/bin/env bash
# Set up (if needed) and run tailor's main job on its built-in default; extra args go to `tailor search`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/tailor search "$@"

#!/usr/bin/env bash
# Side venv with the released reference implementations that check_reference.py compares against:
# fira==1.0.2 and galore-torch==1.0 (installed without their dependencies: both only need torch at
# run time, plus a version check from transformers that check_reference.py stubs out).
# Usage: bash benchmarks/lowrank/install_reference.sh [VENV_DIR]   (default /tmp/fira-ref)
set -euo pipefail
VENV="${1:-/tmp/fira-ref}"
python3 -m venv "$VENV"
# torch 2.13.0 CPU, the version tailor pins (pip's configuration supplies the local CPU wheel)
"$VENV/bin/pip" install torch==2.13.0 numpy
"$VENV/bin/pip" install --no-deps fira==1.0.2 galore-torch==1.0
"$VENV/bin/python" -c "import torch; print('reference venv ready:', '$VENV', 'torch', torch.__version__)"

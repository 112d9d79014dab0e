#!/usr/bin/env bash
# Builds the separate virtual environment DyNAS-T 1.6.0 needs (about 6 GB, about 6 minutes).
# dynast pins old transformers and fairseq, so it cannot share tailor's environment; the peer
# benchmarks run their dynast-* items in this venv, with this checkout of tailor installed in it
# (editable, without its pinned dependencies) for the evaluators, scoring and tailor.lab.peers.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${DYNAST_VENV:-.venv-dynast}"
[ -x "$VENV/bin/python" ] || python3.11 -m venv "$VENV"
PIP=("$VENV/bin/pip" install --disable-pip-version-check -q)
"${PIP[@]}" torch==2.14.1 torchvision==0.29.1
"${PIP[@]}" --no-deps dynast==1.6.0
"${PIP[@]}" autograd gdown numba "numpy<2.3" pandas "pymoo>=0.6.0" requests sacremoses scikit-learn scipy \
  torchprofile "transformers>=4.10.0,<=4.37.2" moocore sqlalchemy pyyaml rich typer matplotlib onnx onnxruntime
"${PIP[@]}" cython cffi
"${PIP[@]}" --no-build-isolation fairseq-fixed==0.12.3.1
"${PIP[@]}" --no-deps -e .
"$VENV/bin/python" -c "import dynast, fairseq, tailor.lab.peers.dynast; print('dynast', getattr(dynast, '__version__', 'ok'))"

"""A sparse sub-network on disk: its (masked) state dict plus the sparse runtime description.

``weights.pt`` loads into the plain sub-network (sparsity is in the zeros); ``sparse.json`` says
which layers run on the kernel, with which block size, density and dispatch, so ``load_sparse``
rebuilds the same runtime. An ONNX export of the model stays dense: ONNX Runtime has no sparse
convolution on CPU, so the zeros would be multiplied anyway.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.sparse._kernel import backend
from tailor.sparse._sparsify import densify, sparse_layers, sparsify

FORMAT = "tailor.sparse/1"


def runtime_description(model: nn.Module) -> dict[str, Any]:
    """JSON-able: the format, kernel backend and every sparse layer's settings."""
    return {"format": FORMAT, "kernel": backend(), "onnx": "dense (ONNX Runtime has no sparse CPU convolution)",
            "layers": {n: m.runtime_description() for n, m in sparse_layers(model).items()}}


def save_sparse(model: nn.Module, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``weights.pt`` (plain, dense-shaped state dict) and ``sparse.json``; atomic per file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    desc = runtime_description(model)
    plain = densify(_copy(model))
    weights, spec = out / "weights.pt", out / "sparse.json"
    tmp = weights.with_suffix(".pt.tmp")
    torch.save(plain.state_dict(), tmp)
    os.replace(tmp, weights)
    tmp = spec.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(desc, indent=1) + "\n")
    os.replace(tmp, spec)
    return weights, spec


def load_sparse(model: nn.Module, out_dir: str | Path, dispatch: str | None = None) -> nn.Module:
    """Load ``weights.pt`` into the plain ``model`` and sparsify the layers ``sparse.json`` names."""
    out = Path(out_dir)
    spec_path = out / "sparse.json"
    if not spec_path.exists():
        raise ConfigError("sparse export", f"no sparse.json in {out}")
    spec = json.loads(spec_path.read_text())
    if spec.get("format") != FORMAT:
        raise ConfigError("sparse.json", f"format {spec.get('format')!r} is not {FORMAT!r}")
    try:
        model.load_state_dict(torch.load(out / "weights.pt", weights_only=True))
    except (RuntimeError, KeyError) as e:
        raise ConfigError("weights.pt", f"does not fit this model: {e}") from None
    for name, layer in spec["layers"].items():
        sparsify(model, [name], block=int(layer["block"]), dispatch=dispatch or layer["dispatch"])
    return model


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)

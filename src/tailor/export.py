"""Export one sub-network as standalone files: PyTorch state dict, config JSON and ONNX.

Needs only a super-network and a config (no study store), so it is usable from Python as well as
from ``tailor export``. Every file is written to a temporary name and then ``os.replace``d, so an
interrupted export never leaves a half-written file under the final name.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.measure.latency import as_tuple
from tailor.measure.onnx_io import export_onnx
from tailor.space import Config

STATE_DICT_NAME = "subnet.pt"
CONFIG_NAME = "config.json"
ONNX_NAME = "subnet.onnx"


@dataclass(frozen=True)
class ExportPaths:
    state_dict: Path
    config: Path
    onnx: Path


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def export_subnet(
    supernet: nn.Module,
    config: Config,
    out_dir: str | Path,
    example_input: torch.Tensor | tuple[torch.Tensor, ...] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ExportPaths:
    """Write ``supernet.subnet(config)`` to ``out_dir``.

    Args:
        supernet: a ``SuperNet``.
        config: the sub-network (validated by ``subnet``; ``ConfigError`` names a bad field).
        out_dir: created if missing.
        example_input: traced for ONNX; default ``supernet.example_input(1, config)``.
        metadata: extra JSON-able facts stored in config.json (e.g. ``supernet`` name and
            ``supernet_kwargs``, which ``load_subnet`` needs, and the study's metrics).

    Returns:
        The three written paths.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError("out", f"not a directory: {out}")
    out.mkdir(parents=True, exist_ok=True)
    model = supernet.subnet(config).eval()
    inputs = as_tuple(example_input if example_input is not None
                      else supernet.example_input(1, config))
    paths = ExportPaths(out / STATE_DICT_NAME, out / CONFIG_NAME, out / ONNX_NAME)

    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    _atomic_write(paths.state_dict, buf.getvalue())
    _atomic_write(paths.onnx, export_onnx(model, inputs))
    record = {
        "config": config,
        "config_key": supernet.space().key(config),
        "input_shapes": [list(t.shape) for t in inputs],
        "input_dtypes": [str(t.dtype).removeprefix("torch.") for t in inputs],
        **dict(metadata or {}),
    }
    _atomic_write(paths.config, json.dumps(record, indent=2, sort_keys=True).encode())
    return paths


def load_subnet(out_dir: str | Path) -> nn.Module:
    """Rebuild an exported sub-network from its config.json (needs ``supernet`` metadata).

    Raises ``ConfigError`` for a missing or corrupt file.
    """
    from tailor.supernets import create_supernet

    out = Path(out_dir)
    try:
        record = json.loads((out / CONFIG_NAME).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError("export.config", f"cannot read {out / CONFIG_NAME}: {e}") from None
    if "supernet" not in record:
        raise ConfigError("export.config", "has no 'supernet' name; export with metadata")
    model = create_supernet(record["supernet"], **record.get("supernet_kwargs", {}))
    subnet = model.subnet(record["config"])
    try:
        state = torch.load(out / STATE_DICT_NAME, map_location="cpu", weights_only=True)
        subnet.load_state_dict(state)
    except Exception as e:  # corrupt or mismatched checkpoint: one clear line
        raise ConfigError("export.state_dict",
                          f"cannot load {out / STATE_DICT_NAME}: {type(e).__name__}") from None
    return subnet.eval()

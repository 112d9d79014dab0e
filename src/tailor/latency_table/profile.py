"""Export a family's blocks (and a few calibration sub-networks) for profiling, and profile them.

``export_for_profiling`` writes ``DIR/blocks/*.onnx``, ``DIR/nets/*.onnx``, ``DIR/manifest.json``
and ``DIR/run_profile.py`` (a copy of ``tailor.latency_table.runner``): everything a target device
needs, with onnxruntime and numpy only. ``profile_supernet`` does both on this machine.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tailor.latency_table import runner
from tailor.latency_table.blocks import BlockFamily, BlockSpec, jsonable
from tailor.latency_table.overhead import output_specs, write_null
from tailor.latency_table.runner import network_key
from tailor.measure.accuracy import track_batchnorm_stats
from tailor.measure.latency import as_tuple
from tailor.measure.onnx_io import export_onnx, input_names_for

RUNNER_NAME = "run_profile.py"


def _input_specs(inputs: Sequence[torch.Tensor], names: Sequence[str] | None) -> list[dict[str, Any]]:
    """Name, shape and dtype of each input; integer inputs (token ids, masks) keep their values."""
    specs = []
    for n, t in zip(input_names_for(inputs, names), inputs, strict=True):
        spec: dict[str, Any] = {"name": n, "shape": list(t.shape), "dtype": "float32"}
        if not t.is_floating_point():
            spec.update(dtype="int64", values=t.reshape(-1).tolist())
        specs.append(spec)
    return specs


def _file_name(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:12] + ".onnx"


def export_block(spec: BlockSpec, directory: Path) -> dict[str, Any]:
    """Write one block's ONNX file and its null graph (same inputs and outputs); its manifest record."""
    module, inputs, names = spec.build()
    path = directory / "blocks" / _file_name(spec.key)
    export_onnx(module, tuple(inputs), path, input_names=names)
    with torch.no_grad():
        outputs = output_specs(module.eval()(*inputs))
    specs = _input_specs(inputs, names)
    return {"key": spec.key, "file": f"blocks/{path.name}", "inputs": specs, "outputs": outputs,
            "null": write_null(specs, outputs, directory)}


def export_network_null(supernet: nn.Module, config: dict, last: dict[str, Any], directory: Path) -> str:
    """The null graph of a whole sub-network: its inputs, and the outputs of its last block."""
    inputs = _input_specs(as_tuple(supernet.example_input(1, config)), None)
    return write_null(inputs, last["outputs"], directory)


def calibration_configs(space: Any, n: int, seed: int) -> list[dict]:
    """``n`` sub-networks spanning the space: its two ends, then random ones (seeded, distinct)."""
    rng = np.random.default_rng(seed)
    configs = [space.extreme("min"), space.extreme("max")][:n]
    seen = {space.key(c) for c in configs}
    for _ in range(50 * n):
        if len(configs) >= n:
            break
        c = space.sample(rng)
        if space.key(c) not in seen:
            seen.add(space.key(c))
            configs.append(c)
    return configs


def export_network(supernet: nn.Module, config: dict, path: Path) -> list[dict[str, Any]]:
    """Write ``config``'s standalone sub-network (fixed BN statistics, as measured and exported)."""
    inputs = as_tuple(supernet.example_input(1, config))
    export_onnx(track_batchnorm_stats(supernet.subnet(config)), inputs, path)
    return _input_specs(inputs, None)


def export_for_profiling(
    supernet: nn.Module,
    family: BlockFamily,
    directory: str | Path,
    n_calibration: int = 10,
    seed: int = 0,
    on_step: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write every distinct block, ``n_calibration`` end-to-end sub-networks, the manifest and the runner."""
    directory = Path(directory)
    (directory / "blocks").mkdir(parents=True, exist_ok=True)
    (directory / "nets").mkdir(exist_ok=True)
    specs = family.all_blocks()
    space = supernet.space()
    configs = calibration_configs(space, n_calibration, seed)
    total = len(specs) + len(configs)
    blocks = []
    for i, spec in enumerate(specs.values()):
        blocks.append(export_block(spec, directory))
        if on_step is not None:
            on_step(i + 1, total)
    by_key = {b["key"]: b for b in blocks}
    net_nulls: dict[str, dict[str, Any]] = {}
    rng = np.random.default_rng(seed + 1)
    # every (first, last) block pair the space produces: its ends, the calibration nets, 64 random ones
    for cfg in [space.extreme("min"), space.extreme("max"), *configs, *(space.sample(rng) for _ in range(64))]:
        keys = family.blocks(cfg)
        if network_key(keys) not in net_nulls:
            net_nulls[network_key(keys)] = {
                "key": network_key(keys), "file": export_network_null(supernet, cfg, by_key[keys[-1]], directory),
                "inputs": _input_specs(as_tuple(supernet.example_input(1, cfg)), None)}
    nets = []
    for i, cfg in enumerate(configs):
        path = directory / "nets" / f"net{i:03d}.onnx"
        nets.append({"file": f"nets/{path.name}", "inputs": export_network(supernet, cfg, path),
                     "blocks": family.blocks(cfg), "config": jsonable(cfg)})
        if on_step is not None:
            on_step(len(specs) + i + 1, total)
    manifest = {"family": family.family, "options": jsonable(family.options()), "space": space.fingerprint(),
                "blocks": blocks, "calibration": nets, "networks": list(net_nulls.values())}
    (directory / runner.MANIFEST).write_text(json.dumps(manifest, indent=1))
    shutil.copyfile(runner.__file__, directory / RUNNER_NAME)
    return manifest


def profile_supernet(
    supernet: nn.Module,
    family: BlockFamily,
    threads: int = 1,
    rounds: int = 5,
    repeats: int = 20,
    warmup: int = 5,
    n_calibration: int = 10,
    seed: int = 0,
    workdir: str | Path | None = None,
    on_export: Callable[[int, int], None] | None = None,
    on_measure: Callable[[int, int], None] | None = None,
    correction: str = runner.DEFAULT_CORRECTION,
) -> dict[str, Any]:
    """Export (into ``workdir``, else a temporary folder) and measure on this machine: the table."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tailor-profile-") as tmp:
        directory = Path(workdir) if workdir is not None else Path(tmp)
        export_for_profiling(supernet, family, directory, n_calibration, seed, on_export)
        return runner.profile(directory, threads, rounds, repeats, warmup, seed, on_measure, correction)


def measure_blocks(specs: Sequence[BlockSpec], threads: int, rounds: int = 5, repeats: int = 20,
                   warmup: int = 5) -> dict[str, dict[str, Any]]:
    """Table entries for ``specs`` (with their call overheads), measured now (adds blocks a table lacks)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tailor-blocks-") as tmp:
        (Path(tmp) / "blocks").mkdir()
        records = [export_block(s, Path(tmp)) for s in specs]
        measured = runner.measure_models(runner.block_models(Path(tmp), records), threads, rounds, repeats, warmup)
    return runner.block_entries(records, measured)


def measure_network_overhead(supernet: nn.Module, config: dict, last: BlockSpec, threads: int, rounds: int = 5,
                             repeats: int = 20, warmup: int = 5) -> dict[str, Any]:
    """The call overhead of ``config``'s network (its null graph), measured now."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tailor-net-") as tmp:
        record = export_block(last, Path(tmp))
        path = export_network_null(supernet, config, record, Path(tmp))
        inputs = _input_specs(as_tuple(supernet.example_input(1, config)), None)
        return runner.measure_models({"net": (Path(tmp) / path, inputs)}, threads, rounds, repeats, warmup)["net"]

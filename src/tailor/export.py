"""Export one sub-network as standalone files: PyTorch state dict, config JSON and ONNX; verify it.

Needs only a super-network and a config (no study store), so it is usable from Python as well as
from ``tailor export``. Every file is written to a temporary name and then ``os.replace``d, so an
interrupted export never leaves a half-written file under the final name.

What is written is the model the study scored: for CNNs the sub-network with its batch-norm
statistics re-calibrated exactly as the ``AccuracyEvaluator`` did (``export_model``).
``verify_export`` re-measures the written files with the study's own evaluators and writes
``verify.json``: top-1 accuracy of the ONNX model on the validation batches (must equal the
study's), MiniLM retrieval agreement of the exported PyTorch sub-network (within
``AGREEMENT_TOLERANCE``) plus ONNX-vs-PyTorch outputs on the example input, and the ONNX
latency with the study's latency settings, uncached (within ``LATENCY_TOLERANCE``: a warning).
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.measure.accuracy import track_batchnorm_stats, untracked_batchnorms
from tailor.measure.base import Calibrating, Scoring
from tailor.measure.evaluators import LatencyEvaluator
from tailor.measure.latency import LatencyResult, as_tuple, measure_latency, time_calls
from tailor.measure.onnx_io import export_onnx, ort_feed, ort_session
from tailor.space import Config

STATE_DICT_NAME = "subnet.pt"
CONFIG_NAME = "config.json"
ONNX_NAME = "subnet.onnx"
VERIFY_NAME = "verify.json"

LATENCY_TOLERANCE = 0.10  # |re-measured / study - 1| above this is a warning (machines are noisy)
AGREEMENT_TOLERANCE = 1e-3  # exported PyTorch vs the super-network's active path: float ties only
OUTPUT_TOLERANCE = 1e-4  # max |ONNX - PyTorch| / max |PyTorch| on the example input


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
    model: nn.Module | None = None,
) -> ExportPaths:
    """Write ``model`` (default ``supernet.subnet(config)``) to ``out_dir``.

    Args:
        supernet: a ``SuperNet``.
        config: the sub-network (validated by ``subnet``; ``ConfigError`` names a bad field).
        out_dir: created if missing.
        example_input: traced for ONNX; default ``supernet.example_input(1, config)``.
        metadata: extra JSON-able facts stored in config.json (e.g. ``supernet`` name and
            ``supernet_kwargs``, which ``load_subnet`` needs, and the study's metrics).
        model: the standalone module to write, e.g. ``export_model(supernet, config, evaluators)``
            (the sub-network with re-calibrated BN statistics); validated against ``config``.

    Returns:
        The three written paths.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError("out", f"not a directory: {out}")
    out.mkdir(parents=True, exist_ok=True)
    default = supernet.subnet(config)  # validates config (ConfigError names a bad field)
    model = (default if model is None else model).eval()
    inputs = as_tuple(example_input if example_input is not None
                      else supernet.example_input(1, config))
    paths = ExportPaths(out / STATE_DICT_NAME, out / CONFIG_NAME, out / ONNX_NAME)
    (out / VERIFY_NAME).unlink(missing_ok=True)  # it described an earlier export

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
    return _load_into(model.subnet(record["config"]), out / STATE_DICT_NAME)


def _load_into(subnet: nn.Module, path: Path) -> nn.Module:
    """Load an exported state dict into a fresh ``subnet(config)``: BN layers that the family
    builds without running statistics get them first when the export holds re-calibrated ones."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        untracked = set(untracked_batchnorms(subnet))
        for name, module in subnet.named_modules():
            if module in untracked and f"{name}.running_mean".lstrip(".") in state:
                track_batchnorm_stats(module)
        subnet.load_state_dict(state)
    except Exception as e:  # corrupt or mismatched checkpoint: one clear line
        raise ConfigError("export.state_dict", f"cannot load {path}: {type(e).__name__}") from None
    return subnet.eval()


def _calibrator(evaluators: Sequence[Any]) -> Calibrating | None:
    return next((e for e in evaluators if isinstance(e, Calibrating)), None)


def export_model(supernet: nn.Module, config: Config, evaluators: Sequence[Any] = ()) -> nn.Module:
    """The standalone model to export for ``config``: the first evaluator's ``calibrated_subnet``
    (BN statistics re-computed exactly as when the study scored it), else ``supernet.subnet``."""
    calibrator = _calibrator(evaluators)
    return supernet.subnet(config) if calibrator is None else calibrator.calibrated_subnet(config)


def rebuild_study_problem(settings: Mapping[str, Any]) -> Any:
    """The ``Problem`` a stored study searched, rebuilt from its spec without training anything
    (its super-network's weights, data split, calibration batches and latency settings)."""
    from tailor.problems import BuildContext, ProblemSpec, build_problem

    stored = settings.get("problem")
    if not isinstance(stored, Mapping) or "spec" not in stored:
        raise ConfigError("study", "was written by an older tailor and stores no problem spec; search it again "
                          "to export from it")
    problem = build_problem(ProblemSpec.from_dict(stored["spec"]), BuildContext(allow_training=False))
    if problem.supernet is None:
        raise ConfigError("study", f"searched problem {problem.name!r}, which has no super-network: nothing to export")
    if problem.settings.get("supernet_kwargs") != stored.get("supernet_kwargs"):
        raise ConfigError("study", "its super-network no longer matches the stored settings (retrained with other "
                          "sizes?)")
    return problem


def export_and_verify(
    supernet: nn.Module,
    config: Config,
    out_dir: str | Path,
    evaluators: Sequence[Any] = (),
    metadata: Mapping[str, Any] | None = None,
    study_metrics: Mapping[str, float] | None = None,
    verify: bool = True,
) -> tuple[ExportPaths, Verification | None]:
    """Export the model a study scored (``export_model``) and, if ``verify`` and ``study_metrics``
    are given, re-measure it (``verify_export``, which writes verify.json)."""
    calibrator = _calibrator(evaluators)
    recalibrated = calibrator is not None and calibrator.recalibrates
    meta = {**dict(metadata or {}), "bn_recalibrated": recalibrated}
    paths = export_subnet(supernet, config, out_dir, metadata=meta,
                          model=export_model(supernet, config, evaluators))
    if not (verify and study_metrics is not None):
        return paths, None
    return paths, verify_export(out_dir, supernet, config, evaluators, study_metrics)


# --------------------------------------------------------------------------- verification
class OnnxModule(nn.Module):
    """An ONNX Runtime session called like a module; batches are split to the graph's batch size."""

    def __init__(self, session: Any):
        super().__init__()
        self.session = session
        dims = [i.shape[0] for i in session.get_inputs()]
        self.batch = dims[0] if dims and isinstance(dims[0], int) and dims[0] > 0 else 1

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        n = inputs[0].shape[0]
        outs = []
        for i in range(0, n, self.batch):
            chunk = tuple(t[i:i + self.batch] for t in inputs)
            outs.append(torch.from_numpy(self.session.run(None, ort_feed(self.session, chunk))[0]))
        return torch.cat(outs)


@dataclass
class Check:
    """One re-measured metric: the study's value, the exported model's, and whether they agree.

    ``severity`` ``error``: a disagreement means the export is not the model the study scored;
    ``warning``: measurement noise can explain it (latency).
    """

    metric: str
    study: float | None
    exported: float | None
    ok: bool
    rule: str
    measured_on: str
    severity: str = "error"
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.study is None or self.exported is None or self.study == 0:
            return None
        return self.exported / self.study

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class Verification:
    checks: list[Check]

    @property
    def errors(self) -> list[Check]:
        return [c for c in self.checks if not c.ok and c.severity == "error"]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if not c.ok and c.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "latency_tolerance": LATENCY_TOLERANCE,
                "checks": [c.to_dict() for c in self.checks]}


def verify_export(
    out_dir: str | Path,
    supernet: nn.Module,
    config: Config,
    evaluators: Sequence[Any],
    study_metrics: Mapping[str, float],
) -> Verification:
    """Re-measure an export with the study's ``evaluators``; write ``verify.json`` next to it.

    * an evaluator with ``score(model, config)`` and an ``accuracy`` metric (image top-1): the
      ONNX file through ONNX Runtime on the validation batches; must equal the study's value.
    * other evaluators with ``score`` (MiniLM agreement): the exported PyTorch state dict, within
      ``AGREEMENT_TOLERANCE``; the ONNX file is then checked against that PyTorch model's outputs
      on the example input (``OUTPUT_TOLERANCE``, relative to the largest output).
    * a ``LatencyEvaluator``: the ONNX file timed with the study's batch size, threads, warm-up
      and repeats, bypassing the latency cache; within ``LATENCY_TOLERANCE`` or a warning.
    """
    out = Path(out_dir)
    threads = next((e.threads for e in evaluators if _is_latency(e)), 1)
    session = ort_session(out / ONNX_NAME, threads)
    torch_model = _load_into(supernet.subnet(config), out / STATE_DICT_NAME)
    checks = [_output_check(session, torch_model, supernet, config)]
    for e in evaluators:
        if _is_latency(e):
            checks.append(_latency_check(e, session, torch_model, supernet, config, study_metrics))
        elif isinstance(e, Scoring) and len(e.metrics) == 1:
            checks.append(_quality_check(e, session, torch_model, config, study_metrics))
    result = Verification(checks)
    data = json.dumps({"config": config, **result.to_dict()}, indent=2, sort_keys=True, default=str)
    _atomic_write(out / VERIFY_NAME, data.encode())
    return result


def _is_latency(e: Any) -> bool:
    return isinstance(e, LatencyEvaluator)


def _quality_check(e: Any, session: Any, torch_model: nn.Module, config: Config,
                   study: Mapping[str, float]) -> Check:
    (metric,) = e.metrics
    if metric == "accuracy":
        value = e.score(OnnxModule(session), config)
        return Check(metric, study.get(metric), value, value == study.get(metric),
                     "equal", "onnx")
    value = e.score(torch_model, config)
    ok = study.get(metric) is not None and abs(value - study[metric]) <= AGREEMENT_TOLERANCE
    return Check(metric, study.get(metric), value, ok, f"±{AGREEMENT_TOLERANCE:g}", "pytorch")


def _output_check(session: Any, torch_model: nn.Module, supernet: nn.Module, config: Config) -> Check:
    inputs = _session_inputs(session, supernet, config)
    with torch.no_grad():
        expected = torch_model(*inputs).numpy()
    got = OnnxModule(session)(*inputs).numpy()
    scale = max(float(np.abs(expected).max()), 1e-12)
    err = float(np.abs(got - expected).max()) / scale
    return Check("onnx_output", 0.0, err, err <= OUTPUT_TOLERANCE, f"<= {OUTPUT_TOLERANCE:g} rel.", "onnx",
                 detail={"input": "example_input", "what": "max |onnx - pytorch| / max |pytorch|"})


def _session_inputs(session: Any, supernet: nn.Module, config: Config) -> tuple[torch.Tensor, ...]:
    dims = [i.shape[0] for i in session.get_inputs()]
    batch = dims[0] if dims and isinstance(dims[0], int) and dims[0] > 0 else 1
    return as_tuple(supernet.example_input(batch, config))


def _latency_check(e: Any, session: Any, torch_model: nn.Module, supernet: nn.Module, config: Config,
                   study: Mapping[str, float]) -> Check:
    inputs = as_tuple(supernet.example_input(e.batch_size, config))
    same_shapes = [list(t.shape) for t in inputs] == [list(t.shape) for t in _session_inputs(session, supernet, config)]
    if e.backend == "onnxruntime" and same_shapes:
        feed = ort_feed(session, inputs)
        samples = time_calls(lambda: session.run(None, feed), e.warmup, e.repeats, e.threads)
        result, on = LatencyResult.from_samples(samples, e.backend, e.threads), "onnx"
    else:  # the study timed another backend or batch size: time the exported model that way
        result = measure_latency(torch_model, inputs, e.backend, e.threads, e.warmup, e.repeats)
        on = "pytorch" if e.backend == "torch" else "pytorch, re-exported"
    value, ref = result.median_ms, study.get("latency_ms")
    ok = ref is not None and ref > 0 and math.isfinite(ref) and abs(value / ref - 1) <= LATENCY_TOLERANCE
    detail = {"backend": e.backend, "batch_size": e.batch_size, "threads": e.threads, "warmup": e.warmup,
              "repeats": e.repeats, "iqr_ms": result.iqr_ms, "cache": "bypassed"}
    return Check("latency_ms", ref, value, ok, f"±{LATENCY_TOLERANCE:.0%}", on, "warning", detail)

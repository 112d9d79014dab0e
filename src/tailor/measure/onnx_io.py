"""ONNX export and ONNX Runtime sessions, shared by latency measurement and ``tailor export``.

onnxruntime is an optional dependency at heart, so it is imported only inside the functions.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

OPSET = 17


def input_names_for(
    example_inputs: Sequence[torch.Tensor], names: Sequence[str] | None
) -> list[str]:
    """Names of the ONNX graph inputs: the given ones, else ``input_0``, ``input_1``, ..."""
    if names is not None:
        return list(names)
    return [f"input_{i}" for i in range(len(example_inputs))]


def export_onnx(
    model: nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    path: str | Path | None = None,
    input_names: Sequence[str] | None = None,
) -> bytes:
    """Trace ``model`` (in eval mode) to ONNX with static shapes; write to ``path`` if given.

    Uses the TorchScript exporter (``dynamo=False``): it needs no extra package (onnxscript)
    and handles any number of tensor inputs. Returns the serialized model.
    """
    was_training = model.training
    model.eval()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                tuple(example_inputs),
                buf,
                dynamo=False,
                input_names=input_names_for(example_inputs, input_names),
                output_names=["output"],
                opset_version=OPSET,
                do_constant_folding=True,
            )
    finally:
        model.train(was_training)
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def ort_session(model: bytes | str | Path, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session pinned to ``threads`` intra-op threads, run sequentially."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])


def ort_feed(session: Any, example_inputs: Sequence[torch.Tensor],
             input_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Map tensors to the session's inputs by their export names.

    An input the graph does not use (a degenerate sub-network whose output ignores it) is
    dropped by the exporter, so only the names the session still has are fed.
    """
    wanted = {i.name for i in session.get_inputs()}
    names = input_names_for(example_inputs, input_names)
    return {n: t.detach().cpu().numpy() for n, t in zip(names, example_inputs, strict=True) if n in wanted}

"""Null graphs: what one ONNX Runtime call costs when it computes (almost) nothing.

Every table entry is one session call on its own, so it carries the call's fixed cost (Python
binding, input binding, output allocation and the copy back to numpy) once; a whole network pays
that cost once, not once per block. A null graph has exactly a block's inputs and outputs (names,
shapes, dtypes) and does the least work that still produces them: it reads one element of the
first input and broadcasts it into each output, so it allocates and writes every output like the
block does. Measured beside the blocks, its latency is the overhead to subtract per entry; one
with the network's inputs and outputs is the overhead to add back once per network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tailor.measure.onnx_io import OPSET

_ONNX_TYPES = {"float32": TensorProto.FLOAT, "int64": TensorProto.INT64}


def signature(inputs: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]]) -> str:
    """A short name for an (inputs, outputs) shape signature; equal signatures share one null graph."""
    sig = [[(i["name"], i["shape"], i["dtype"]) for i in inputs], [(o["shape"], o["dtype"]) for o in outputs]]
    return hashlib.sha1(json.dumps(sig).encode()).hexdigest()[:12]


def output_specs(outputs: Any) -> list[dict[str, Any]]:
    """Shape and dtype of a module's output(s) (a tensor or a tuple of tensors)."""
    import torch

    outs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    return [{"shape": list(t.shape), "dtype": "float32" if t.is_floating_point() else "int64"}
            for t in outs if isinstance(t, torch.Tensor)]


def null_model(inputs: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]]) -> onnx.ModelProto:
    """The null graph of a signature (see the module docstring)."""
    first = inputs[0]
    nodes, inits = [], [numpy_helper.from_array(np.array([0], np.int64), "zero"),
                        numpy_helper.from_array(np.array([1], np.int64), "one")]
    src = first["name"]
    if first["dtype"] != "float32":
        nodes.append(helper.make_node("Cast", [src], ["x_f"], to=TensorProto.FLOAT))
        src = "x_f"
    nodes += [helper.make_node("Flatten", [src], ["flat"], axis=0),  # (1, N): a view
              helper.make_node("Slice", ["flat", "zero", "one", "one"], ["elem"])]  # (1, 1): one element
    outs = []
    for k, o in enumerate(outputs):
        inits.append(numpy_helper.from_array(np.array(o["shape"], np.int64), f"shape{k}"))
        name = f"out{k}"
        if o["dtype"] == "float32":
            nodes.append(helper.make_node("Expand", ["elem", f"shape{k}"], [name]))
        else:
            nodes += [helper.make_node("Expand", ["elem", f"shape{k}"], [f"e{k}"]),
                      helper.make_node("Cast", [f"e{k}"], [name], to=_ONNX_TYPES[o["dtype"]])]
        outs.append(helper.make_tensor_value_info(name, _ONNX_TYPES[o["dtype"]], o["shape"]))
    graph = helper.make_graph(
        nodes, "null",
        [helper.make_tensor_value_info(i["name"], _ONNX_TYPES[i["dtype"]], i["shape"]) for i in inputs],
        outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by older ONNX Runtimes on a device
    onnx.checker.check_model(model)
    return model


def write_null(inputs: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]], directory: Path) -> str:
    """Write the signature's null graph under ``directory/nulls`` once; its path relative to ``directory``."""
    path = directory / "nulls" / f"{signature(inputs, outputs)}.onnx"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(null_model(inputs, outputs), str(path))
    return f"nulls/{path.name}"

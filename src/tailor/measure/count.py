"""Cheap static metrics of a model: parameters, MACs and peak forward-pass memory.

MACs come from ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2), so they cover the
matrix-multiply and convolution ops PyTorch counts and nothing hand-written. Element-wise ops
(BN, activations, pooling) are not counted, as in most papers' MAC tables.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

Inputs = tuple[torch.Tensor, ...] | torch.Tensor


def _as_tuple(inputs: Inputs) -> tuple[torch.Tensor, ...]:
    return (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)


def count_params(model: nn.Module) -> int:
    """Number of parameters (of a standalone sub-network: exactly what it ships with)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, example_inputs: Inputs) -> int:
    """Multiply-accumulates of one eval-mode forward pass on ``example_inputs`` (FLOPs / 2)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*_as_tuple(example_inputs))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops()) // 2


@dataclass(frozen=True)
class MemoryResult:
    """Bytes of a forward pass.

    ``peak_activation_bytes``: the most bytes held at once by tensors *created during* the forward
    (activations and temporaries), tracked per ATen op output until Python frees it; kernel-internal
    scratch (e.g. im2col buffers inside one conv) is not seen. ``param_bytes``: parameters and
    buffers; ``input_bytes``: the inputs. ``peak_bytes`` is their sum: a lower bound on what
    inference needs, comparable across sub-networks.
    """

    peak_activation_bytes: int
    param_bytes: int
    input_bytes: int

    @property
    def peak_bytes(self) -> int:
        return self.peak_activation_bytes + self.param_bytes + self.input_bytes


class _LiveTensorBytes(TorchDispatchMode):
    """Counts bytes of storages produced by ops while any tensor viewing them is alive."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: dict[int, int] = {}
        self.sizes: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def _release(self, ptr: int) -> None:
        self.refs[ptr] -= 1
        if self.refs[ptr] == 0:
            self.current -= self.sizes.pop(ptr)
            del self.refs[ptr]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            ptr = storage.data_ptr()
            if ptr == 0:
                continue
            if ptr not in self.refs:
                self.refs[ptr], self.sizes[ptr] = 0, storage.nbytes()
                self.current += storage.nbytes()
                self.peak = max(self.peak, self.current)
            self.refs[ptr] += 1
            weakref.finalize(t, self._release, ptr)
        return out


def peak_memory(model: nn.Module, example_inputs: Inputs) -> MemoryResult:
    """Peak bytes of one eval-mode, no-grad forward pass (see ``MemoryResult``)."""
    inputs = _as_tuple(example_inputs)
    was_training = model.training
    model.eval()
    tracker = _LiveTensorBytes()
    try:
        with torch.inference_mode(), tracker:
            out = model(*inputs)
        del out
    finally:
        model.train(was_training)
    tensors = list(model.parameters()) + list(model.buffers())
    return MemoryResult(
        peak_activation_bytes=tracker.peak,
        param_bytes=sum(t.numel() * t.element_size() for t in tensors),
        input_bytes=sum(t.numel() * t.element_size() for t in inputs),
    )

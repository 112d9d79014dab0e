"""``torch.nn.Module``s that run a pruned 1x1 convolution or linear layer on the sparse kernel.

Each module keeps the dense (masked) weight too: it runs dense when autograd needs gradients,
for dtypes other than float32, and wherever its measured break-even says the sparse kernel
would be slower (``dispatch="auto"``: on the first input of a new shape and thread count, both
paths are timed side by side, fastest of several alternating calls, and the faster one is kept
for that shape).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tailor.errors import ConfigError
from tailor.sparse._format import PackedWeight, pack
from tailor.sparse._kernel import backend, spmm

DISPATCH = ("auto", "sparse", "dense")
MAX_DENSITY = 0.6  # above this the kernel never beats BLAS (measured: break-even near 25-35 %)
_TIMING_REPEATS = 9


def _best_pair(a: Any, b: Any, repeats: int = _TIMING_REPEATS) -> tuple[float, float]:
    """Fastest of ``repeats`` calls of ``a()`` and ``b()``, timed alternately.

    The minimum, not the median: on a machine shared with other work, slow samples are the
    other work's, and alternating keeps drift from favouring either path.
    """
    a(), b()  # warm up: compile, caches, allocator
    ta, tb = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        a()
        ta.append(time.perf_counter() - t)
        t = time.perf_counter()
        b()
        tb.append(time.perf_counter() - t)
    return float(min(ta)), float(min(tb))


class _SparseBase(nn.Module):
    """Shared dispatch: the packed weight, the dense fallback and the per-shape decisions."""

    weight: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, weight2d: torch.Tensor, bias: torch.Tensor | None, block: int, dispatch: str, name: str):
        super().__init__()
        if dispatch not in DISPATCH:
            raise ConfigError("dispatch", f"{dispatch!r} is not a dispatch mode", DISPATCH)
        self.layer_name = name
        self.dispatch = dispatch
        self.packed: PackedWeight = pack(weight2d.detach().cpu().float().numpy(),
                                         None if bias is None else bias.detach().cpu().float().numpy(), block)
        self.decisions: dict[str, dict[str, float | bool]] = {}
        self._fast: dict[tuple[tuple[int, ...], int], bool] = {}
        self._plans: dict[tuple[torch.Size, int], Any] = {}  # per (shape, threads): False or a runner
        self._bufs: dict[tuple[int, str], torch.Tensor] = {}  # per-thread scratch, reused across calls

    def _scratch(self, slot: str, shape: tuple[int, ...]) -> torch.Tensor:
        """A reused float32 buffer (the transposed input, the kernel's output before transposing)."""
        key = (threading.get_ident(), slot)
        buf = self._bufs.get(key)
        if buf is None or tuple(buf.shape) != shape:
            buf = self._bufs[key] = torch.empty(shape, dtype=torch.float32)
        return buf

    @property
    def block(self) -> int:
        return self.packed.block

    @property
    def density(self) -> float:
        return self.packed.density

    def _sparse_ok(self, x: torch.Tensor) -> bool:
        return (x.dtype == torch.float32 and x.device.type == "cpu"
                and not (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)))

    def _use_sparse(self, x: torch.Tensor) -> bool:
        """The dispatch decision for ``x`` (cached per shape and thread count: a dict lookup per call)."""
        if self.dispatch != "auto":
            return self.dispatch == "sparse"
        fast = (tuple(x.shape), torch.get_num_threads())
        known = self._fast.get(fast)
        if known is None:
            with torch.no_grad():
                known = self._fast[fast] = self._choose(f"{fast[0]}@{fast[1]}", lambda: self._dense(x),
                                                        lambda: self._sparse(x))
        return known

    def _choose(self, key: str, dense: Any, sparse: Any) -> bool:
        """True to run sparse for inputs described by ``key`` (measured once per key)."""
        if self.dispatch != "auto":
            return self.dispatch == "sparse"
        if key not in self.decisions:
            if self.density > MAX_DENSITY:
                self.decisions[key] = {"sparse": False, "dense_s": float("nan"), "sparse_s": float("nan")}
            else:
                td, ts = _best_pair(dense, sparse)
                self.decisions[key] = {"sparse": ts < td, "dense_s": td, "sparse_s": ts}
        return bool(self.decisions[key]["sparse"])

    def _run_chw(self, x3: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """(N, C_in, P) float32 -> (N, C_out, P) through the kernel.

        A non-contiguous ``x3`` is copied into a reused buffer; ``out`` (N, out_padded, P) is
        written if given, else a new tensor.
        """
        x3 = x3.detach()
        if not x3.is_contiguous():
            x3 = self._scratch("x", tuple(x3.shape)).copy_(x3)
        if out is None:
            out = torch.empty((x3.shape[0], self.packed.out_padded, x3.shape[2]), dtype=torch.float32)
        spmm(self.packed, x3.numpy(), out.numpy(), threads=torch.get_num_threads())
        return out if self.packed.out_padded == self.packed.out_features else out[:, : self.packed.out_features]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_plans"] = {}  # closures over the packed arrays: rebuilt on the next call
        return state

    def runtime_description(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "dispatch": self.dispatch, **self.packed.describe(),
                "decisions": dict(self.decisions)}


class SparseConv2d(_SparseBase):
    """A 1x1 ``Conv2d`` (groups 1, padding 0, any stride) on the sparse kernel."""

    def __init__(self, conv: nn.Conv2d, block: int = 1, dispatch: str = "auto", name: str = "conv"):
        check_conv(conv, name)
        super().__init__(conv.weight.reshape(conv.out_channels, conv.in_channels), conv.bias, block, dispatch, name)
        self.in_channels, self.out_channels, self.stride = conv.in_channels, conv.out_channels, conv.stride
        self.register_buffer("weight", conv.weight.detach().clone())
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())

    def _dense(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride)

    def _sparse(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != (1, 1):
            x = x[:, :, :: self.stride[0], :: self.stride[1]]
        n, c, h, w = x.shape
        return self._run_chw(x.reshape(n, c, h * w)).reshape(n, self.out_channels, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Hot path: one dict lookup per call for a known (shape, threads); the checks that can
        # change between calls (dtype, autograd) stay, everything else is in the cached plan.
        if x.dtype is torch.float32 and not (torch.is_grad_enabled() and x.requires_grad):
            plan = self._plans.get((x.shape, torch.get_num_threads()))
            if plan is None:
                plan = self._make_plan(x)
            if plan is not False:
                return plan(x)
        return self._dense(x)

    def _make_plan(self, x: torch.Tensor) -> Any:
        """``False`` (run dense) or a function running ``x``'s shape on the kernel, cached per
        (shape, threads); the dispatch decision is measured here, once."""
        key = (x.shape, torch.get_num_threads())
        if x.ndim != 4 or x.device.type != "cpu" or self.weight.requires_grad or self.dispatch == "dense":
            self._plans[key] = False
            return False
        n, c, h, w = x.shape
        if self.stride != (1, 1) or key[1] > 1 or backend() != "numba":
            plan = self._sparse  # general path: strided input, threads, numpy fallback
        else:
            from tailor.sparse._kernel import serial_call

            plan = serial_call(self.packed, (n, c, h, w))
        if self.dispatch == "auto":
            with torch.no_grad():
                if not self._choose(f"{tuple(x.shape)}@{key[1]}", lambda: self._dense(x), lambda: plan(x)):
                    plan = False
        self._plans[key] = plan
        return plan


class SparseLinear(_SparseBase):
    """A ``Linear`` on the sparse kernel: tokens become the kernel's pixels (input transposed)."""

    def __init__(self, linear: nn.Linear, block: int = 1, dispatch: str = "auto", name: str = "linear"):
        super().__init__(linear.weight, linear.bias, block, dispatch, name)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight", linear.weight.detach().clone())
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())

    def _dense(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def _sparse(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        xt = x.detach().reshape(-1, self.in_features).t().unsqueeze(0)  # (1, C_in, tokens): copied once
        scratch = self._scratch("y", (1, self.packed.out_padded, xt.shape[2]))
        y = self._run_chw(xt, scratch)[0]  # (C_out, tokens)
        return y.t().contiguous().reshape(*lead, self.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._sparse_ok(x) and self._use_sparse(x):
            return self._sparse(x)
        return self._dense(x)


def check_conv(conv: nn.Conv2d, name: str) -> None:
    """Raise ``ConfigError`` naming the layer unless the kernel computes this convolution."""
    bad = []
    if tuple(conv.kernel_size) != (1, 1):
        bad.append(f"kernel {tuple(conv.kernel_size)}")
    if conv.groups != 1:
        bad.append(f"groups {conv.groups}")
    if any(p != 0 for p in (conv.padding if isinstance(conv.padding, tuple) else (1,))):
        bad.append(f"padding {conv.padding}")
    if conv.padding_mode != "zeros":
        bad.append(f"padding_mode {conv.padding_mode}")
    if bad:
        raise ConfigError(f"layer {name}", f"the sparse kernel supports only 1x1 convolutions with groups 1 and no "
                          f"padding; this one has {', '.join(bad)}", "Conv2d(1x1), Linear")

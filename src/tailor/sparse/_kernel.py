"""Sparse x dense products through the compiled kernel, or numpy where numba cannot load.

The backend is chosen once, on first use: numba unless ``TAILOR_SPARSE_KERNEL=numpy`` asks for
the fallback or numba fails to import/compile, which is said once (a ``RuntimeWarning`` and a log
line) since the fallback is far slower and sparse layers would then mostly run dense.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from tailor.errors import ConfigError
from tailor.sparse._format import PackedWeight

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

BACKENDS = ("numba", "numpy")
_state: dict[str, Any] = {}


def _load_numba() -> Any:
    from tailor.sparse import _numba_kernels

    return _numba_kernels


def backend() -> str:
    """``"numba"`` or ``"numpy"``: what ``spmm`` runs on (decided on the first call)."""
    if "backend" not in _state:
        wanted = os.environ.get("TAILOR_SPARSE_KERNEL", "numba")
        if wanted not in BACKENDS:
            raise ConfigError("TAILOR_SPARSE_KERNEL", f"unknown kernel {wanted!r}", BACKENDS)
        if wanted == "numpy":
            logger.info("sparse kernel: numpy fallback (TAILOR_SPARSE_KERNEL=numpy)")
            _state["backend"] = "numpy"
        else:
            try:
                _state["module"] = _load_numba()
                _state["backend"] = "numba"
            except Exception as e:  # noqa: BLE001 - any import/compile failure means: fall back
                message = (f"tailor.sparse: numba kernel unavailable ({type(e).__name__}: {e}); "
                           "using the slow numpy fallback")
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                logger.warning(message)
                _state["backend"] = "numpy"
    return _state["backend"]


def max_threads() -> int:
    """Threads the compiled kernel can use (numba's pool size; 1 for numpy)."""
    if backend() != "numba":
        return 1
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


def spmm(w: PackedWeight, x: np.ndarray, out: np.ndarray, threads: int = 1, kernel: str | None = None) -> np.ndarray:
    """``out[n] = W @ x[n] + bias`` for ``x`` (N, in_features, P) float32 C-contiguous.

    ``out``: (N, out_padded, P) float32, written in full. ``kernel``: force ``"numba"`` or
    ``"numpy"`` (tests compare them); by default the loaded backend.
    """
    kernel = kernel or backend()
    if kernel == "numpy":
        return spmm_numpy(w, x, out)
    mod = _state.get("module") or _load_numba()
    args = (x, w.values, w.deltas, w.nnz, w.nz_ptr, w.value_ptr, w.start, w.block, out,
            min(mod.STRIP, max(1, x.shape[2])))
    if threads > 1:
        import numba

        numba.set_num_threads(min(threads, max_threads()))
        mod.spmm_parallel(*args)
    else:
        mod.spmm_serial(*args)
    return out


def serial_call(w: PackedWeight, shape: tuple[int, int, int, int]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A runner for one contiguous (N, C_in, H, W) float32 input shape on one thread: the packed
    arrays, output shape and strip are bound once, so a call is one ``torch.empty``, two numpy
    views and the compiled kernel (the per-call cost that dominates small layers).

    Non-contiguous inputs are copied first; the result is (N, C_out, H, W).
    """
    import torch

    fn = (_state.get("module") or _load_numba()).spmm_serial
    n, c, h, wd = shape
    p = h * wd
    mod = _state.get("module") or _load_numba()
    bound = (w.values, w.deltas, w.nnz, w.nz_ptr, w.value_ptr, w.start, w.block)
    strip = min(mod.STRIP, max(1, p))
    out_shape, x_shape, y_shape = (n, w.out_padded, h, wd), (n, c, p), (n, w.out_padded, p)
    trim = w.out_features if w.out_padded != w.out_features else None

    def run(x: torch.Tensor) -> torch.Tensor:
        if not x.is_contiguous():
            x = x.contiguous()
        y = torch.empty(out_shape, dtype=torch.float32)
        fn(x.detach().numpy().reshape(x_shape), *bound, y.numpy().reshape(y_shape), strip)
        return y if trim is None else y[:, :trim]

    return run


def spmm_numpy(w: PackedWeight, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The same product from the same packed arrays with numpy only (gather, multiply, segment sums)."""
    b, blocks = w.block, w.blocks
    bias_idx = w.value_ptr[:, None] + np.arange(b)  # (blocks, b)
    out[:] = w.values[bias_idx].reshape(-1)[None, :, None]
    if w.deltas.size == 0:
        return out
    channels = w.channels()
    owner = np.repeat(np.arange(blocks), w.nnz)  # block of every non-zero
    rank = np.arange(channels.size) - w.nz_ptr[owner]  # index of the non-zero inside its block
    vals = w.values[(w.value_ptr[owner] + b + rank * b)[:, None] + np.arange(b)]  # (nnz, b)
    gathered = x[:, channels, :]  # (N, nnz, P)
    filled = np.flatnonzero(w.nnz)
    starts = w.nz_ptr[filled]
    for j in range(b):
        sums = np.add.reduceat(gathered * vals[None, :, j, None], starts, axis=1)  # (N, filled, P)
        out[:, filled * b + j, :] += sums
    return out


"""The compiled SpMM kernels (numba; compiled on first use and cached on disk).

``y[n, :, strip] = W_sparse @ x[n, :, strip] + bias`` for activations in CHW layout
(``x``: (N, C_in, P) with each input channel's P pixels contiguous). For one strip of pixels
and one block of output channels, the block's output rows stay in L1 while every non-zero of the
block adds ``w * x[channel, strip]`` to them: one vectorised multiply-add over the strip per
non-zero and output channel, the input channel advanced by the stored delta (XNNPACK's SpMM
design; its hand-written assembly keeps the strip in registers, here LLVM vectorises the strip
loop). Imported only through ``tailor.sparse._kernel``, which falls back to numpy without numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

STRIP = 512  # pixels per strip: block rows (4 x 2 KiB) + one input row stay in L1


@njit(fastmath=True, inline="always", cache=True)
def _axpy(y: np.ndarray, x: np.ndarray, w: float) -> None:
    for p in range(x.shape[0]):
        y[p] += w * x[p]


@njit(fastmath=True, inline="always", cache=True)
def _axpy4(y0, y1, y2, y3, x, w0, w1, w2, w3) -> None:  # noqa: ANN001
    for p in range(x.shape[0]):
        xv = x[p]
        y0[p] += w0 * xv
        y1[p] += w1 * xv
        y2[p] += w2 * xv
        y3[p] += w3 * xv


@njit(fastmath=True, inline="always", cache=True)
def _block(x, values, deltas, n, k0, v, ic, b, y, oc, p0, p1) -> None:  # noqa: ANN001
    for j in range(b):
        y[oc + j, p0:p1] = values[v + j]  # bias first
    v += b
    if b == 4:
        y0, y1, y2, y3 = y[oc, p0:p1], y[oc + 1, p0:p1], y[oc + 2, p0:p1], y[oc + 3, p0:p1]
        for k in range(n):
            _axpy4(y0, y1, y2, y3, x[ic, p0:p1], values[v], values[v + 1], values[v + 2], values[v + 3])
            v += 4
            ic += deltas[k0 + k]
    else:
        for k in range(n):
            xr = x[ic, p0:p1]
            for j in range(b):
                _axpy(y[oc + j, p0:p1], xr, values[v + j])
            v += b
            ic += deltas[k0 + k]


@njit(fastmath=True, cache=True)
def spmm_serial(x, values, deltas, nnz, nz_ptr, value_ptr, start, b, y, strip) -> None:  # noqa: ANN001
    """One thread: strips outermost, so a strip of the input is reused by every block."""
    n_img, _, pixels = x.shape
    for i in range(n_img):
        xi, yi = x[i], y[i]
        for p0 in range(0, pixels, strip):
            p1 = min(pixels, p0 + strip)
            for blk in range(nnz.shape[0]):
                _block(xi, values, deltas, nnz[blk], nz_ptr[blk], value_ptr[blk], start[blk], b, yi, blk * b, p0, p1)


@njit(fastmath=True, parallel=True, cache=True)
def spmm_parallel(x, values, deltas, nnz, nz_ptr, value_ptr, start, b, y, strip) -> None:  # noqa: ANN001
    """Several threads: across pixel strips when there are enough, else across output blocks."""
    n_img, _, pixels = x.shape
    strips = (pixels + strip - 1) // strip
    blocks = nnz.shape[0]
    for i in range(n_img):
        xi, yi = x[i], y[i]
        if strips >= 4:
            for s in prange(strips):
                p0 = s * strip
                p1 = min(pixels, p0 + strip)
                for blk in range(blocks):
                    _block(xi, values, deltas, nnz[blk], nz_ptr[blk], value_ptr[blk], start[blk], b, yi, blk * b,
                           p0, p1)
        else:
            for blk in prange(blocks):
                for p0 in range(0, pixels, strip):
                    _block(xi, values, deltas, nnz[blk], nz_ptr[blk], value_ptr[blk], start[blk], b, yi, blk * b,
                           p0, min(pixels, p0 + strip))


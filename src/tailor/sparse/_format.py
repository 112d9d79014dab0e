"""The sparse weight format the kernels read (XNNPACK's SpMM layout, in numpy arrays).

Output channels are grouped in blocks of ``block`` (1, 2 or 4) that share one sparsity pattern
(the input channels where any of their weights is non-zero). Per block the ``values`` stream holds
the block's biases first, then ``block`` weights per non-zero input channel; the input channels
themselves are stored as a start channel plus deltas, so the kernel walks the input by adding
each delta after each non-zero, as XNNPACK advances its input pointer by byte deltas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailor.errors import ConfigError

BLOCKS = (1, 2, 4)


@dataclass(frozen=True)
class PackedWeight:
    """A (out_features x in_features) matrix in block-sparse form, plus the bias.

    ``out_padded`` rounds ``out_features`` up to a multiple of ``block`` (padded rows are
    zero and their outputs dropped).
    """

    values: np.ndarray  # float32: per block [bias(block), w(nz0, block), w(nz1, block), ...]
    deltas: np.ndarray  # int32: input-channel step after each non-zero (0 after a block's last)
    nnz: np.ndarray  # int32 (blocks,): non-zero input channels per block
    nz_ptr: np.ndarray  # int64 (blocks,): offset of each block's first delta
    value_ptr: np.ndarray  # int64 (blocks,): offset of each block's bias in ``values``
    start: np.ndarray  # int32 (blocks,): input channel of each block's first non-zero
    block: int
    out_features: int
    in_features: int

    @property
    def blocks(self) -> int:
        return int(self.nnz.shape[0])

    @property
    def out_padded(self) -> int:
        return self.blocks * self.block

    @property
    def density(self) -> float:
        """Fraction of the (padded) weight matrix the kernel multiplies."""
        return float(self.nnz.sum()) * self.block / max(1, self.out_padded * self.in_features)

    def channels(self) -> np.ndarray:
        """Absolute input channel of every non-zero (what the deltas encode)."""
        out = np.empty(self.deltas.shape[0], np.int64)
        for b in range(self.blocks):
            p, n = int(self.nz_ptr[b]), int(self.nnz[b])
            if n:
                out[p] = self.start[b]
                out[p + 1 : p + n] = self.start[b] + np.cumsum(self.deltas[p : p + n - 1])
        return out

    def describe(self) -> dict[str, object]:
        return {"block": self.block, "out_features": self.out_features, "in_features": self.in_features,
                "nonzeros": int(self.nnz.sum()) * self.block, "density": round(self.density, 6)}


def check_block(block: int, field: str = "block") -> int:
    if block not in BLOCKS:
        raise ConfigError(field, f"{block!r} output channels per block is not supported", BLOCKS)
    return block


def block_pattern(weight: np.ndarray, block: int) -> np.ndarray:
    """(blocks, in_features) bool: where a block of output channels has any non-zero weight."""
    out, cin = weight.shape
    blocks = -(-out // block)
    padded = np.zeros((blocks * block, cin), dtype=bool)
    padded[:out] = weight != 0
    return padded.reshape(blocks, block, cin).any(axis=1)


def infer_block(weight: np.ndarray) -> int:
    """The largest block size whose blocks share one pattern exactly (1 when none does)."""
    nonzero = weight != 0
    for block in (4, 2):
        pattern = block_pattern(weight, block)
        expanded = np.repeat(pattern, block, axis=0)[: weight.shape[0]]
        if np.array_equal(expanded, nonzero):
            return block
    return 1


def pack(weight: np.ndarray, bias: np.ndarray | None, block: int) -> PackedWeight:
    """Pack a 2-D weight (zeros are the pruned entries) and its bias for the kernels."""
    check_block(block)
    weight = np.asarray(weight, dtype=np.float32)
    if weight.ndim != 2:
        raise ConfigError("weight", f"expected a 2-D matrix, got shape {weight.shape}")
    out, cin = weight.shape
    pattern = block_pattern(weight, block)
    blocks = pattern.shape[0]
    w = np.zeros((blocks * block, cin), np.float32)
    w[:out] = weight
    b = np.zeros(blocks * block, np.float32)
    if bias is not None:
        b[:out] = np.asarray(bias, dtype=np.float32)
    nnz = pattern.sum(axis=1).astype(np.int32)
    nz_ptr = np.zeros(blocks, np.int64)
    nz_ptr[1:] = np.cumsum(nnz)[:-1]
    value_ptr = nz_ptr * block + np.arange(blocks, dtype=np.int64) * block
    values = np.empty(int(nnz.sum()) * block + blocks * block, np.float32)
    deltas = np.zeros(int(nnz.sum()), np.int32)
    start = np.zeros(blocks, np.int32)
    for k in range(blocks):
        cols = np.flatnonzero(pattern[k])
        v = int(value_ptr[k])
        rows = w[k * block : (k + 1) * block]
        values[v : v + block] = b[k * block : (k + 1) * block]
        values[v + block : v + block + cols.size * block] = rows[:, cols].T.reshape(-1)
        if cols.size:
            start[k] = cols[0]
            p = int(nz_ptr[k])
            deltas[p : p + cols.size - 1] = np.diff(cols)
    return PackedWeight(values, deltas, nnz, nz_ptr, value_ptr, start, block, out, cin)

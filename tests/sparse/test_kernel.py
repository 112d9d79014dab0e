"""The packed format and the SpMM kernel (numba and numpy fallback) against the dense product."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tailor.sparse import Pruner, SparseConv2d, SparseLinear, _kernel, infer_block, pack, spmm


def _pruned(out: int, cin: int, sparsity: float, block: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lin = nn.Linear(cin, out)
    Pruner({"l": lin}, block).prune(sparsity, "uniform", "random", rng)
    return lin.weight.detach().numpy().copy(), rng.standard_normal(out).astype(np.float32)


@pytest.mark.parametrize("block", [1, 2, 4])
def test_pack_encodes_values_deltas_and_bias_first(block: int) -> None:
    w, b = _pruned(10, 16, 0.7, block)  # 10 rows: the last block is partial for 4
    p = pack(w, b, block)
    assert p.out_padded % block == 0 and p.out_padded >= 10
    dense = np.zeros((p.out_padded, 16), np.float32)
    chans = p.channels()
    for k in range(p.blocks):
        v = int(p.value_ptr[k])
        if k * block < 10:
            np.testing.assert_array_equal(p.values[v : v + block][: 10 - k * block], b[k * block : (k + 1) * block])
        for i in range(int(p.nnz[k])):
            c = chans[int(p.nz_ptr[k]) + i]
            dense[k * block : (k + 1) * block, c] = p.values[v + block + i * block : v + 2 * block + i * block]
    np.testing.assert_array_equal(dense[:10], w)
    assert (np.diff(chans[p.nz_ptr[0] : p.nz_ptr[0] + p.nnz[0]]) > 0).all()  # increasing: deltas > 0
    assert p.density == pytest.approx(float((w != 0).sum()) / w.size, abs=0.1)


def test_infer_block() -> None:
    for block in (1, 2, 4):
        w, _ = _pruned(16, 32, 0.75, block, seed=3)
        assert infer_block(w) >= block


SHAPES = [(16, 8, 49), (64, 32, 196), (48, 96, 7), (30, 12, 1100)]  # (out, in, pixels); 1100 > one strip


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("sparsity", [0.0, 0.7, 0.95])
@pytest.mark.parametrize("block", [1, 2, 4])
@pytest.mark.parametrize("threads", [1, 2])
def test_kernel_matches_dense(shape: tuple[int, int, int], sparsity: float, block: int, threads: int) -> None:
    out, cin, pixels = shape
    w, b = _pruned(out, cin, sparsity, block)
    p = pack(w, b, block)
    x = np.random.default_rng(1).standard_normal((2, cin, pixels)).astype(np.float32)
    ref = np.einsum("oc,ncp->nop", w.astype(np.float64), x.astype(np.float64)) + b[None, :, None]
    y = np.full((2, p.out_padded, pixels), np.nan, np.float32)
    spmm(p, x, y, threads=threads)
    np.testing.assert_allclose(y[:, :out], ref, rtol=1e-5, atol=1e-5)
    y2 = np.full_like(y, np.nan)
    spmm(p, x, y2, kernel="numpy")
    np.testing.assert_allclose(y2[:, :out], ref, rtol=1e-5, atol=1e-5)


def test_numba_loads_here() -> None:
    assert _kernel.backend() == "numba"
    assert _kernel.max_threads() >= 2


def test_fallback_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ImportError("no numba here")

    monkeypatch.setattr(_kernel, "_state", {})
    monkeypatch.setattr(_kernel, "_load_numba", broken)
    with pytest.warns(RuntimeWarning, match="numpy fallback"):
        assert _kernel.backend() == "numpy"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _kernel.backend() == "numpy"  # no second warning
        lin = nn.Linear(24, 40)
        Pruner({"l": lin}, 4).prune(0.8, "uniform")
        x = torch.randn(5, 24)
        with torch.no_grad():
            torch.testing.assert_close(SparseLinear(lin, 4, "sparse")(x), lin(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_sparse_conv_module_matches_conv2d(threads: int, stride: int) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(32, 64, 1, stride=stride, bias=stride == 1)
    Pruner({"c": conv}, 2).prune(0.9, "uniform")
    x = torch.randn(3, 32, 15, 15)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        with torch.no_grad():
            torch.testing.assert_close(SparseConv2d(conv, 2, "sparse")(x), conv(x), rtol=1e-5, atol=1e-5)
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("threads", [1, 2])
def test_sparse_linear_module_matches_linear(threads: int) -> None:
    torch.manual_seed(0)
    lin = nn.Linear(384, 1536)
    Pruner({"l": lin}, 4).prune(0.9, "uniform")
    x = torch.randn(2, 64, 384)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        with torch.no_grad():
            torch.testing.assert_close(SparseLinear(lin, 4, "sparse")(x), lin(x), rtol=1e-5, atol=1e-5)
    finally:
        torch.set_num_threads(old)

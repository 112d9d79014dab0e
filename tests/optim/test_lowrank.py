"""GaLore and Fira: the algebra (full rank, residual, limiter), state size, SVD schedule, resume."""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch import nn

from tailor.optim import Fira, GaLore, lowrank_param_groups, projection_side, state_bytes


class Net(nn.Module):
    """Blocks with a tall (24x10), a square (24x24) and a wide (6x24) weight, biases and a norm."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(10, 24), nn.Linear(24, 24), nn.Linear(24, 6)])
        self.norm = nn.LayerNorm(6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.blocks):
            x = layer(x)
            if i < len(self.blocks) - 1:
                x = torch.tanh(x)
        return self.norm(x)


def _net(seed: int = 0) -> Net:
    torch.manual_seed(seed)
    return Net()


def _batches(n: int, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, 10, generator=g), torch.randn(8, 6, generator=g)) for _ in range(n)]


def _train(model: nn.Module, opt: torch.optim.Optimizer, batches, after_step=None) -> None:
    for x, y in batches:
        opt.zero_grad(set_to_none=True)
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        if after_step is not None:
            after_step()


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_projection_side_std_projects_the_smaller_side():
    assert projection_side((4, 10), "std") == "left"
    assert projection_side((10, 4), "std") == "right"
    assert projection_side((6, 6), "std") == "right"  # GaLore: m >= n -> right
    assert projection_side((4, 10), "reverse_std") == "right"
    assert projection_side((10, 4), "left") == "left"


def test_galore_full_rank_alpha_one_equals_adamw():
    ref, model = _net(), _net()
    hyper = {"lr": 3e-2, "betas": (0.8, 0.95), "eps": 1e-7, "weight_decay": 0.1}
    adamw = torch.optim.AdamW(ref.parameters(), **hyper)
    galore = GaLore(model.parameters(), rank=24, alpha=1.0, update_proj_gap=2, **hyper)
    batches = _batches(6)
    _train(ref, adamw, batches)
    _train(model, galore, batches)
    assert all("proj" not in s for s in galore.state.values())  # full rank: no basis kept
    for a, b in zip(ref.parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-7)
    # and the run moved the weights, so the comparison is not between two untouched copies
    assert max((a - b).abs().max().item() for a, b in zip(ref.parameters(), _net().parameters(), strict=True)) > 0.05


def test_galore_low_rank_differs_from_adamw():
    # the equality above is not automatic: a real projection changes the update
    ref, model = _net(), _net()
    _train(ref, torch.optim.AdamW(ref.parameters(), lr=3e-2, weight_decay=0.0), _batches(3))
    _train(model, GaLore(model.parameters(), lr=3e-2, rank=2, alpha=1.0), _batches(3))
    assert not torch.allclose(ref.blocks[1].weight, model.blocks[1].weight, atol=1e-4)


@pytest.mark.parametrize("scaling", ["column", "matrix", "none"])
def test_fira_full_rank_has_zero_residual_and_equals_galore(scaling):
    a, b = _net(), _net()
    hyper = {"lr": 2e-2, "weight_decay": 0.05, "rank": 64, "alpha": 0.5, "update_proj_gap": 3}
    fira = Fira(a.parameters(), scaling=scaling, **hyper)
    galore = GaLore(b.parameters(), **hyper)
    norms = []
    batches = _batches(5)
    _train(a, fira, batches, lambda: norms.append([s["residual_norm"].item() for s in fira.state.values()
                                                    if "residual_norm" in s]))
    _train(b, galore, batches)
    assert len(norms) == 5 and all(len(row) == 3 for row in norms)
    assert all(v == 0.0 for row in norms for v in row)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_fira_low_rank_residual_is_nonzero_and_changes_the_update():
    a, b = _net(), _net()
    fira = Fira(a.parameters(), lr=1e-2, rank=2)
    galore = GaLore(b.parameters(), lr=1e-2, rank=2)
    _train(a, fira, _batches(2))
    _train(b, galore, _batches(2))
    assert all(s["residual_norm"].item() > 0 for s in fira.state.values() if "residual_norm" in s)
    assert not torch.allclose(a.blocks[1].weight, b.blocks[1].weight, atol=1e-5)


@pytest.mark.parametrize("proj_type", ["left", "right"])
@pytest.mark.parametrize("scaling", ["column", "matrix", "none"])
def test_fira_step_matches_the_paper_formula(proj_type, scaling):
    """One step on one matrix, recomputed by hand from the paper's equations."""
    torch.manual_seed(3)
    W = nn.Parameter(torch.randn(7, 11))
    G = torch.randn(7, 11)
    W0 = W.detach().clone()
    lr, wd, alpha, eps, (b1, b2) = 0.1, 0.2, 0.3, 1e-8, (0.9, 0.999)
    opt = Fira([{"params": [W], "rank": 3}], lr=lr, weight_decay=wd, alpha=alpha, eps=eps, proj_type=proj_type,
               scaling=scaling)
    W.grad = G.clone()
    opt.step()
    P = opt.state[W]["proj"]
    if proj_type == "left":
        assert P.shape == (7, 3)
        R, back, col_dim = P.T @ G, lambda X: P @ X, 0
    else:
        assert P.shape == (3, 11)
        R, back, col_dim = G @ P.T, lambda X: X @ P, 1
    m, v = (1 - b1) * R, (1 - b2) * R * R
    N = (m / (1 - b1)) / (torch.sqrt(v / (1 - b2)) + eps)
    S = G - back(R)
    if scaling == "column":
        phi = N.norm(dim=col_dim, keepdim=True) / (R.norm(dim=col_dim, keepdim=True) + 1e-8)
    elif scaling == "matrix":
        phi = N.norm() / (R.norm() + 1e-8)
    else:
        phi = 1.0
    expected = W0 * (1 - lr * wd) - lr * alpha * (back(N) + phi * S)
    torch.testing.assert_close(W.detach(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(opt.state[W]["residual_norm"], (phi * S).norm(), rtol=1e-5, atol=1e-6)


def _growing_gradient_run(limiter: bool, gamma: float = 1.01) -> list[float]:
    """Residual norms over steps whose gradient grows 1.5x per step (so the limiter must act)."""
    torch.manual_seed(5)
    W = nn.Parameter(torch.randn(8, 12))
    opt = Fira([{"params": [W], "rank": 2}], lr=1e-3, gamma=gamma, limiter=limiter, scaling="none")
    g = torch.Generator().manual_seed(6)
    norms = []
    for t in range(8):
        W.grad = torch.randn(8, 12, generator=g) * 1.5**t
        opt.step()
        norms.append(opt.state[W]["residual_norm"].item())
    return norms


@pytest.mark.parametrize("gamma", [1.001, 1.01, 1.1])
def test_limiter_bounds_residual_growth(gamma):
    limited = _growing_gradient_run(True, gamma)
    free = _growing_gradient_run(False, gamma)
    # without the limiter the residual outgrows gamma (else this test could not fail)
    assert max(b / a for a, b in zip(free, free[1:], strict=False)) > gamma * 1.2
    for prev, cur in zip(limited, limited[1:], strict=False):
        assert cur <= gamma * prev * (1 + 1e-6)
    assert limited[0] == pytest.approx(free[0])  # nothing to compare with on the first step


def test_limiter_result_is_what_is_applied():
    """The stored norm is the norm of the residual actually added to the weights."""
    torch.manual_seed(7)
    W = nn.Parameter(torch.randn(6, 9))
    opt = Fira([{"params": [W], "rank": 2}], lr=1.0, alpha=1.0, scaling="none", gamma=1.0)
    W.grad = torch.randn(6, 9)
    opt.step()
    first = opt.state[W]["residual_norm"].item()
    before = W.detach().clone()
    G = torch.randn(6, 9) * 10
    W.grad = G.clone()
    opt.step()
    state = opt.state[W]
    P = state["proj"]  # std on 6 x 9 (m < n) projects on the left
    assert P.shape == (6, 2)
    R = P.T @ G
    bc1, bc2 = 1 - 0.9**2, 1 - 0.999**2
    N = (state["exp_avg"] / bc1) / (torch.sqrt(state["exp_avg_sq"] / bc2) + 1e-8)
    applied_residual = (before - W.detach()) - P @ N
    assert applied_residual.norm().item() == pytest.approx(first, rel=1e-4)  # gamma 1: no growth
    assert (G - P @ R).norm().item() > 5 * first


def _numbers(state: dict) -> dict[str, int]:
    return {k: v.numel() for k, v in state.items() if isinstance(v, torch.Tensor)}


@pytest.mark.parametrize("cls", [GaLore, Fira])
@pytest.mark.parametrize("proj_type", ["left", "right", "std"])
def test_state_holds_mr_plus_2nr_numbers(cls, proj_type):
    m, n, r = 12, 20, 3
    W = nn.Parameter(torch.randn(m, n))
    opt = cls([{"params": [W], "rank": r}], proj_type=proj_type)
    W.grad = torch.randn(m, n)
    opt.step()
    counts = _numbers(opt.state[W])
    extra = 1 if cls is Fira else 0
    side = projection_side((m, n), proj_type)
    expected = m * r + 2 * n * r if side == "left" else n * r + 2 * m * r
    assert sum(counts.values()) == expected + extra
    assert counts.get("residual_norm", 0) == extra
    assert state_bytes(opt) == {"total": 4 * (expected + extra), "groups": [4 * (expected + extra)]}
    assert opt.state_bytes()["total"] == 4 * (expected + extra)


def test_state_bytes_counts_memory_kept_alive():
    # code_compat keeps the released code's view of all singular vectors: the bytes say so
    m, n, r = 12, 20, 3
    W = nn.Parameter(torch.randn(m, n))
    opt = GaLore([{"params": [W], "rank": r}], proj_type="left", code_compat=True)
    W.grad = torch.randn(m, n)
    opt.step()
    assert opt.state_bytes()["total"] == 4 * (m * min(m, n) + 2 * n * r)


def test_state_bytes_per_group_and_adamw():
    model = _net()
    opt = Fira(lowrank_param_groups(model, rank=2), lr=1e-3)
    _train(model, opt, _batches(1))
    report = state_bytes(opt)
    dense = sum(2 * p.numel() for p in opt.param_groups[0]["params"]) * 4
    assert report["groups"][0] == dense
    assert report["total"] == sum(report["groups"])
    adamw = torch.optim.AdamW(model.parameters())
    _train(model, adamw, _batches(1))
    n_params = sum(1 for _ in model.parameters())
    assert state_bytes(adamw)["total"] == sum(2 * p.numel() * 4 for p in model.parameters()) + 4 * n_params
    assert report["total"] < state_bytes(adamw)["total"]


@pytest.mark.parametrize("cls", [GaLore, Fira])
@pytest.mark.parametrize("compat", [False, True])
def test_svd_runs_every_T_steps_only(monkeypatch, cls, compat):
    calls = []
    real_svd = torch.linalg.svd

    def counting_svd(*args, **kwargs):
        calls.append(args[0].shape)
        return real_svd(*args, **kwargs)

    monkeypatch.setattr(torch.linalg, "svd", counting_svd)
    model = _net()
    opt = cls(lowrank_param_groups(model, rank=2, update_proj_gap=3), lr=1e-3, code_compat=compat)
    per_step = []
    for batch in _batches(10):
        before = len(calls)
        _train(model, opt, [batch])
        per_step.append(len(calls) - before)
    # three projected matrices, refreshed on steps 0, 3, 6, 9
    assert per_step == [3, 0, 0, 3, 0, 0, 3, 0, 0, 3]


def test_full_rank_matrices_need_no_svd(monkeypatch):
    calls = []
    real_svd = torch.linalg.svd
    monkeypatch.setattr(torch.linalg, "svd", lambda *a, **k: calls.append(1) or real_svd(*a, **k))
    model = _net()
    opt = Fira(lowrank_param_groups(model, rank=6, update_proj_gap=2), lr=1e-3)
    _train(model, opt, _batches(4))
    # the 6 x 24 output matrix is at full rank (6 on its projected side); the other two are not
    assert len(calls) == 2 * 2


@pytest.mark.parametrize("cls,kwargs", [(GaLore, {}), (Fira, {}), (Fira, {"code_compat": True}),
                                        (Fira, {"scaling": "matrix", "limiter": False})])
def test_state_dict_round_trip_resumes_bit_for_bit(cls, kwargs):
    batches = _batches(9)
    hyper = {"lr": 1e-2, "weight_decay": 0.01, **kwargs}

    straight = _net()
    opt = cls(lowrank_param_groups(straight, rank=2, update_proj_gap=3), **hyper)
    _train(straight, opt, batches)

    first = _net()
    opt1 = cls(lowrank_param_groups(first, rank=2, update_proj_gap=3), **hyper)
    _train(first, opt1, batches[:4])  # stops between two SVD refreshes
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "optimizer": opt1.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)  # tensors and numbers only

    resumed = _net(seed=99)  # different init: everything must come from the checkpoint
    resumed.load_state_dict(saved["model"])
    opt2 = cls(lowrank_param_groups(resumed, rank=2, update_proj_gap=3), **hyper)
    opt2.load_state_dict(saved["optimizer"])
    assert opt2.state_dict()["param_groups"] == opt1.state_dict()["param_groups"]
    _train(resumed, opt2, batches[4:])
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("cls", [GaLore, Fira])
def test_non_matrix_params_use_adamw(cls):
    model, ref = _net(), _net()
    hyper = {"lr": 2e-2, "weight_decay": 0.1, "eps": 1e-8}
    # rank as a default: every parameter is in a projected group, but only 2-D ones are projected
    opt = cls(model.parameters(), rank=2, **hyper)
    adamw = torch.optim.AdamW(ref.parameters(), **hyper)
    batches = _batches(1)
    _train(model, opt, batches)
    _train(ref, adamw, batches)
    for (name, p), q in zip(model.named_parameters(), ref.parameters(), strict=True):
        if p.dim() != 2:
            assert "proj" not in opt.state[p] and opt.state[p]["exp_avg"].shape == p.shape
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7, msg=name)
        else:
            assert "proj" in opt.state[p]


def test_groups_without_rank_use_adamw():
    model, ref = _net(), _net()
    opt = Fira([{"params": list(model.parameters())}], lr=1e-2, weight_decay=0.05)
    adamw = torch.optim.AdamW(ref.parameters(), lr=1e-2, weight_decay=0.05)
    batches = _batches(4)
    _train(model, opt, batches)
    _train(ref, adamw, batches)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_closure_and_params_without_grad():
    model = _net()
    opt = GaLore(lowrank_param_groups(model, rank=2), lr=1e-2)
    model.norm.weight.requires_grad_(False)
    x, y = _batches(1)[0]

    def closure():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert math.isfinite(float(loss.detach()))
    assert model.norm.weight not in opt.state


def test_bf16_params_get_a_bf16_basis():
    W = nn.Parameter(torch.randn(8, 12, dtype=torch.bfloat16))
    opt = Fira([{"params": [W], "rank": 2}], lr=1e-2)
    W.grad = torch.randn(8, 12, dtype=torch.bfloat16)
    opt.step()
    assert opt.state[W]["proj"].dtype == torch.bfloat16 and torch.isfinite(W).all()



@pytest.mark.parametrize("dtype,rtol", [(torch.float32, 1e-4), (torch.float64, 1e-6), (torch.bfloat16, 2e-2)])
@pytest.mark.parametrize("proj_type", ["left", "right"])
def test_residual_norm_matches_the_explicit_residual(dtype, rtol, proj_type):
    """The norms Fira limits (from Pythagoras, or from S in low precision) are those of G - P R."""
    torch.manual_seed(8)
    m, n, r = 48, 80, 12
    U, _ = torch.linalg.qr(torch.randn(m, m))
    V, _ = torch.linalg.qr(torch.randn(n, m))
    G = ((U * 0.93 ** torch.arange(m)) @ V.T).to(dtype)  # a decaying spectrum, like real gradients
    W = nn.Parameter(torch.zeros(m, n, dtype=dtype))
    opt = Fira([{"params": [W], "rank": r}], proj_type=proj_type, scaling="none")
    W.grad = G.clone()
    opt.step()
    P, Gd = opt.state[W]["proj"].double(), G.double()
    S = Gd - P @ P.T @ Gd if proj_type == "left" else Gd - Gd @ P.T @ P
    assert S.norm() / Gd.norm() > 0.05  # a residual worth limiting
    assert opt.state[W]["residual_norm"].item() == pytest.approx(S.norm().item(), rel=rtol)

"""Layer densities, pruning masks, the cubic schedule and masks surviving optimiser steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.sparse import GradualPruner, Pruner, cubic_sparsity, layer_densities, layers_of, random_prune

SHAPES = {"a": (64, 32, 1, 1), "b": (128, 64, 1, 1), "c": (512, 512, 1, 1), "fc": (10, 512)}


def _total_density(dens: dict[str, float], shapes: dict) -> float:
    sizes = {n: int(np.prod(s)) for n, s in shapes.items()}
    return sum(dens[n] * sizes[n] for n in shapes) / sum(sizes.values())


@pytest.mark.parametrize("dist", ["uniform", "er", "erk"])
def test_densities_keep_the_overall_target(dist: str) -> None:
    dens = layer_densities(SHAPES, 0.9, dist)
    assert _total_density(dens, SHAPES) == pytest.approx(0.1, rel=1e-9)
    assert all(0 < d <= 1 for d in dens.values())


def test_er_and_erk_follow_their_formulas() -> None:
    shapes = {"a": (64, 32, 1, 1), "b": (512, 512, 1, 1), "k3": (64, 64, 3, 3)}
    er = layer_densities(shapes, 0.8, "er")
    erk = layer_densities(shapes, 0.8, "erk")
    # density / formula is one constant (epsilon) across layers that are not capped at 1
    eps_er = {n: er[n] / ((s[0] + s[1]) / (s[0] * s[1])) for n, s in shapes.items() if er[n] < 1}
    eps_erk = {n: erk[n] / ((s[0] + s[1] + sum(s[2:])) / np.prod(s)) for n, s in shapes.items() if erk[n] < 1}
    assert len(eps_er) >= 2 and len(eps_erk) >= 2
    assert er["a"] == 1.0  # 64x32 would need more than all its weights: kept dense
    assert np.ptp(list(eps_er.values())) < 1e-9 * max(eps_er.values())
    assert np.ptp(list(eps_erk.values())) < 1e-9 * max(eps_erk.values())
    assert erk["a"] > erk["b"]  # smaller layers keep more
    assert erk["k3"] != pytest.approx(er["k3"])  # the kernel term matters for 3x3


def test_erk_caps_small_layers_dense_and_resolves() -> None:
    shapes = {"tiny": (8, 4), "big": (1024, 1024)}
    dens = layer_densities(shapes, 0.5, "erk")
    assert dens["tiny"] == 1.0
    assert _total_density(dens, shapes) == pytest.approx(0.5, rel=1e-9)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "x"])
def test_sparsity_outside_unit_interval_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="sparsity"):
        layer_densities(SHAPES, bad)  # type: ignore[arg-type]


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 64, 1), nn.ReLU(), nn.Conv2d(64, 32, 1),
                         nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.Flatten(), nn.Linear(32 * 4 * 4, 10))


def test_layers_of_picks_1x1_and_linear_first_dense() -> None:
    assert list(layers_of(_net())) == ["1", "3", "6"]
    net = nn.Sequential(nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 1))
    assert list(layers_of(net, dense_first=True)) == ["1"]
    assert list(layers_of(net, dense_first=False)) == ["0", "1"]


@pytest.mark.parametrize("block", [1, 2, 4])
def test_block_masks_share_one_pattern_per_block(block: int) -> None:
    net = _net()
    pruner = random_prune(net, 0.8, "erk", block=block, rng=np.random.default_rng(1))
    for name, m in pruner.layers.items():
        mask = pruner.masks[name].reshape(m.weight.shape[0], -1)
        rows = mask.shape[0] - mask.shape[0] % block
        grouped = mask[:rows].reshape(-1, block, mask.shape[1])
        assert (grouped == grouped[:, :1]).all()
        assert ((m.weight.reshape(mask.shape) != 0) <= mask).all()
    assert pruner.sparsity()["overall"] == pytest.approx(0.8, abs=0.01)


def test_magnitude_prune_keeps_the_largest_weights() -> None:
    lin = nn.Linear(8, 4)
    with torch.no_grad():
        lin.weight.copy_(torch.arange(32, dtype=torch.float32).reshape(4, 8))
    Pruner({"l": lin}).prune(0.75, "uniform")
    assert (lin.weight.reshape(-1)[:24] == 0).all() and (lin.weight.reshape(-1)[24:] != 0).all()


def test_masks_survive_optimizer_steps() -> None:
    torch.manual_seed(0)
    lin = nn.Linear(32, 16)
    pruner = Pruner({"l": lin}, block=2)
    pruner.prune(0.9, "uniform")
    zeros = lin.weight == 0
    opt = torch.optim.SGD(lin.parameters(), lr=0.5, momentum=0.9, weight_decay=0.1)
    pruner.attach(opt)
    for _ in range(5):
        opt.zero_grad()
        lin(torch.randn(8, 32)).pow(2).sum().backward()
        opt.step()
    assert (lin.weight[zeros] == 0).all()
    assert (lin.weight[~zeros] != 0).all()
    pruner.detach()
    opt.zero_grad()
    lin(torch.randn(8, 32)).pow(2).sum().backward()
    opt.step()
    assert (lin.weight[zeros] != 0).any()  # detached: momentum revives them


def test_mask_shape_mismatch_names_the_layer() -> None:
    pruner = Pruner({"proj": nn.Conv2d(8, 16, 1)})
    pruner.set_mask("proj", torch.ones(16, 8, dtype=torch.bool))  # (out, in) of a 1x1 conv is fine
    with pytest.raises(ConfigError, match="proj.*mask shape \\(8, 16\\)"):
        pruner.set_mask("proj", torch.ones(8, 16, dtype=torch.bool))


def test_unsupported_layer_is_named() -> None:
    with pytest.raises(ConfigError, match="layer dw"):
        Pruner({"dw": nn.Conv2d(8, 8, 3, groups=8)})
    with pytest.raises(ConfigError, match="block"):
        Pruner({"l": nn.Linear(4, 4)}, block=3)


def test_cubic_schedule_values() -> None:
    f = lambda t: cubic_sparsity(t, 0.9, begin=100, end=1100, frequency=100)  # noqa: E731
    assert f(0) == 0.0
    assert f(100) == pytest.approx(0.0)
    assert f(600) == pytest.approx(0.9 * (1 - 0.5**3))
    assert f(650) == f(600)  # held between pruning steps
    assert f(1100) == pytest.approx(0.9) and f(5000) == pytest.approx(0.9)
    vals = [f(t) for t in range(100, 1101, 100)]
    assert all(a < b for a, b in zip(vals, vals[1:], strict=False))
    gaps = np.diff(vals)
    assert all(a > b for a, b in zip(gaps, gaps[1:], strict=False))  # fast early, slow late


def test_gradual_pruner_reaches_target_as_trainer_callback() -> None:
    torch.manual_seed(0)
    net = _net()
    pruner = Pruner(layers_of(net), block=4)
    gradual = GradualPruner(pruner, 0.8, begin=0, end=20, frequency=5)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    seen = []
    for step in range(25):
        opt.zero_grad()
        net(torch.randn(4, 3, 4, 4)).pow(2).mean().backward()
        opt.step()
        gradual(step // 10, step % 10 + 1, 10, 0.0)  # the trainer's on_step arguments
        seen.append(pruner.sparsity()["overall"])
    assert seen[3] == pytest.approx(0.0, abs=1e-6)  # before the first pruning step at 5
    assert seen[4] == pytest.approx(cubic_sparsity(5, 0.8, 0, 20, 5), abs=0.01)
    assert seen[-1] == pytest.approx(0.8, abs=0.01)
    for name, m in pruner.layers.items():  # weights really zero where masked
        assert ((m.weight != 0) <= pruner.masks[name]).all()


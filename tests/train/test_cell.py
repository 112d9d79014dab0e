"""The NAS-Bench-201-shaped cell super-network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tailor.errors import ConfigError
from tailor.supernets import SuperNet, create_supernet, list_supernets
from tailor.supernets.cell import OPS, CellSuperNet, edge_list


def _perturb_bn(net: torch.nn.Module) -> None:
    """Non-trivial affine BN parameters, so copies that lose them would be caught."""
    gen = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data = torch.rand(m.weight.shape, generator=gen) + 0.5
            m.bias.data = torch.randn(m.bias.shape, generator=gen)


def test_registered_and_protocol():
    assert "nb201_cell" in list_supernets()
    net = create_supernet("nb201_cell", channels=4)
    assert isinstance(net, SuperNet)
    space = net.space()
    assert space.choices[0].name == "op" and space.choices[0].values == OPS
    assert space.size == 5**3


def test_sizes():
    assert edge_list(4) == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    assert CellSuperNet(n_nodes=4).space().size == 15625
    net = CellSuperNet(num_classes=3, in_channels=3, channels=4, n_cells=2, image_size=12)
    assert net.example_input(2).shape == (2, 3, 12, 12)
    net.activate(net.space().sample(np.random.default_rng(0)))
    assert net(net.example_input(2)).shape == (2, 3)
    with pytest.raises(ConfigError, match="channels"):
        CellSuperNet(channels=0)


@pytest.mark.parametrize("seed", range(6))
def test_subnet_equals_active_path(seed):
    torch.manual_seed(seed)
    net = CellSuperNet(channels=6, n_nodes=4, n_cells=2)
    _perturb_bn(net)
    config = net.space().sample(np.random.default_rng(seed))
    net.activate(config)
    sub = net.subnet(config)
    x = torch.randn(8, 1, 8, 8)
    for mode in ("train", "eval"):
        net.train(mode == "train")
        sub.train(mode == "train")
        with torch.no_grad():
            torch.testing.assert_close(sub(x), net(x))
    # the subnet's weights are copies: changing the supernet leaves it alone
    before = sub(x).detach()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    torch.testing.assert_close(sub(x), before)


def test_paths_differ_and_zero_cell_is_constant():
    torch.manual_seed(0)
    net = CellSuperNet(channels=4)
    x = torch.randn(16, 1, 8, 8)
    net.activate({"op": ["nor_conv_3x3"] * 3})
    a = net(x)
    net.activate({"op": ["avg_pool_3x3"] * 3})
    assert not torch.allclose(a, net(x))
    net.activate({"op": ["none"] * 3})  # the cell outputs zeros: every image gets the same logits
    out = net(x)
    torch.testing.assert_close(out, out[:1].expand_as(out))


def test_choice_parameters_are_disjoint_and_cover_the_edges():
    net = CellSuperNet(channels=4, n_cells=2)
    table = net.choice_parameters()
    assert len(table) == 3 * 5
    seen: set[int] = set()
    for (dim, _edge, value), params in table.items():
        assert dim == "op"
        if OPS[value] in ("none", "skip_connect", "avg_pool_3x3"):
            assert params == []
        else:
            assert len(params) == 2 * 3  # conv weight + BN weight/bias, in both cells
        ids = {id(p) for p in params}
        assert not ids & seen
        seen |= ids
    stem_head = {id(p) for p in net.stem.parameters()} | {id(p) for p in net.head.parameters()}
    assert seen | stem_head == {id(p) for p in net.parameters()}


def test_activate_rejects_bad_configs():
    net = CellSuperNet(channels=4)
    with pytest.raises(ConfigError):
        net.activate({"op": ["conv7x7"] * 3})
    with pytest.raises(ConfigError):
        net.activate({"op": ["none"] * 2})

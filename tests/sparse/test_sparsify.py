"""sparsify: which layers it replaces, unchanged outputs, dispatch, bad input, export round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from tailor.errors import ConfigError
from tailor.sparse import (
    SparseConv2d,
    SparseLinear,
    densify,
    load_sparse,
    random_prune,
    save_sparse,
    sparse_layers,
    sparsify,
)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.expand = nn.Conv2d(16, 64, 1)
        self.dw = nn.Conv2d(64, 64, 3, padding=1, groups=64)
        self.project = nn.Conv2d(64, 32, 1, bias=False)
        self.keep = nn.Conv2d(32, 32, 1)  # left dense
        self.fc = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.expand(torch.relu(self.stem(x))))
        x = self.keep(self.project(torch.relu(self.dw(x))))
        return self.fc(x.mean((2, 3)))


def _pruned_net() -> Net:
    torch.manual_seed(0)
    net = Net()
    random_prune(net, 0.8, "uniform", block=4, rng=np.random.default_rng(0),
                 layers=["expand", "project", "fc"])
    return net.eval()


def test_sparsify_replaces_exactly_the_pruned_layers_and_keeps_outputs() -> None:
    net = _pruned_net()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        ref = net(x)
        replaced = sparsify(net, dispatch="sparse")
        assert sorted(replaced) == ["expand", "fc", "project"]
        assert isinstance(net.expand, SparseConv2d) and isinstance(net.fc, SparseLinear)
        assert isinstance(net.keep, nn.Conv2d) and isinstance(net.stem, nn.Conv2d)
        assert all(m.block == 4 for m in replaced.values())  # inferred from the pattern
        torch.testing.assert_close(net(x), ref, rtol=1e-5, atol=1e-5)


def test_auto_dispatch_measures_and_records_a_decision() -> None:
    net = _pruned_net()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        ref = net(x)
        sparsify(net, example_inputs=x)
        for m in sparse_layers(net).values():
            assert len(m.decisions) == 1
            d = next(iter(m.decisions.values()))
            assert d["dense_s"] > 0 and d["sparse_s"] > 0 and d["sparse"] == (d["sparse_s"] < d["dense_s"])
        torch.testing.assert_close(net(x), ref, rtol=1e-5, atol=1e-5)


def test_dense_layers_dispatch_dense_without_timing() -> None:
    lin = nn.Linear(16, 16)  # not pruned: density 1
    (m,) = sparsify(nn.Sequential(lin), ["0"]).values()
    with torch.no_grad():
        m(torch.randn(4, 16))
    assert next(iter(m.decisions.values()))["sparse"] is False


def test_training_still_works_through_the_dense_path() -> None:
    net = _pruned_net().train()
    sparsify(net, dispatch="sparse")
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    net(x).sum().backward()
    assert x.grad is not None


def test_bad_layers_are_named() -> None:
    net = _pruned_net()
    with pytest.raises(ConfigError, match="layer dw.*groups 64"):
        sparsify(net, ["dw"])
    with pytest.raises(ConfigError, match="layer stem.*kernel \\(3, 3\\)"):
        sparsify(net, ["stem"])
    with pytest.raises(ConfigError, match="no layer 'nope'"):
        sparsify(net, ["nope"])
    with pytest.raises(ConfigError, match="layer 1.*ReLU"):
        sparsify(nn.Sequential(nn.Linear(4, 4), nn.ReLU()), ["1"])
    with pytest.raises(ConfigError, match="min_sparsity"):
        sparsify(net, min_sparsity=1.0)
    with pytest.raises(ConfigError, match="dispatch"):
        sparsify(net, dispatch="fast")
    with pytest.raises(ConfigError, match="block"):
        sparsify(net, block=8)


def test_export_round_trip(tmp_path) -> None:  # noqa: ANN001
    net = _pruned_net()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        ref = net(x)
    sparsify(net, dispatch="sparse")
    weights, spec = save_sparse(net, tmp_path)
    desc = json.loads(spec.read_text())
    assert sorted(desc["layers"]) == ["expand", "fc", "project"]
    assert desc["layers"]["expand"]["block"] == 4 and "dense" in desc["onnx"]
    plain = Net()
    plain.load_state_dict(torch.load(weights, weights_only=True))  # a plain state dict
    loaded = load_sparse(Net().eval(), tmp_path)
    assert sorted(sparse_layers(loaded)) == ["expand", "fc", "project"]
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(densify(loaded)(x), ref, rtol=1e-5, atol=1e-5)
    assert not sparse_layers(loaded)


def test_fold_batchnorm_keeps_outputs_and_zeros() -> None:
    from tailor.sparse import fold_batchnorm

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
    random_prune(net, 0.75, "uniform", block=2, dense_first=False, rng=np.random.default_rng(0))
    net.train()
    net(torch.randn(4, 8, 5, 5))  # running statistics away from 0 / 1
    net.eval()
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        ref = net(x)
        zeros = net[0].weight == 0
        fold_batchnorm(net)
        assert isinstance(net[1], nn.Identity) and net[0].bias is not None
        assert torch.equal(net[0].weight == 0, zeros)
        torch.testing.assert_close(net(x), ref, rtol=1e-5, atol=1e-5)

"""Behaviour specific to the elastic CNN families (mobilenetv3, resnet)."""

import copy

import numpy as np
import pytest
import torch

from tailor.measure.count import count_params

CNNS = ["mobilenetv3", "resnet"]


@pytest.mark.parametrize("name", CNNS)
def test_sort_channels_keeps_largest_network(name, small_supernet):
    net = copy.deepcopy(small_supernet(name))
    cfg = net.space().extreme("max")
    net.activate(cfg)
    x = net.example_input(2, cfg)
    with torch.no_grad():
        before = net(x)
        net.sort_channels()
        after = net(x)
    assert torch.allclose(before, after, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", CNNS)
def test_sort_channels_puts_important_channels_first(name, small_supernet):
    net = copy.deepcopy(small_supernet(name))
    net.sort_channels()
    block = net.stages[0][0]
    w = block.project_conv.weight if name == "mobilenetv3" else block.conv3.weight
    importance = w.abs().sum(dim=(0, 2, 3))
    assert torch.all(importance[:-1] >= importance[1:])


@pytest.mark.parametrize("name", CNNS)
def test_skipped_blocks_do_not_change_the_key(name, small_supernet):
    space = small_supernet(name).space()
    cfg = space.extreme("min")
    canon = space.canonical(cfg)
    other = copy.deepcopy(cfg)
    unused = [i for i, v in enumerate(canon["expand"]) if v is None]
    assert unused, "min config must skip some blocks"
    other["expand"][unused[0]] = space.choices[-1].values[-1]
    assert space.key(other) == space.key(cfg)
    assert space.key(canon) == space.key(cfg)
    # ...and a canonical config (with None entries) is accepted by the network
    small_supernet(name).subnet(canon)


@pytest.mark.parametrize("name", CNNS)
def test_min_is_smaller_than_max_and_configs_differ(name, small_supernet):
    net = small_supernet(name)
    space = net.space()
    lo, hi = net.subnet(space.extreme("min")), net.subnet(space.extreme("max"))
    assert count_params(lo) < count_params(hi)
    x = net.example_input(1, space.extreme("max"))
    with torch.no_grad():
        assert not torch.allclose(lo.eval()(x), hi.eval()(x))


def test_resolution_sets_example_input(small_supernet):
    net = small_supernet("mobilenetv3")
    cfg = net.space().sample(np.random.default_rng(0))
    cfg["resolution"] = 24
    assert net.example_input(3, cfg).shape == (3, 1, 24, 24)

"""The SuperNet contract, run on every registered family (new registrations are tested free)."""

import numpy as np
import pytest
import torch

from tailor.errors import ConfigError
from tailor.measure.latency import as_tuple
from tailor.supernets import SuperNet, list_supernets

FAMILIES = list_supernets()


def _outputs_match(net, config) -> None:
    net.activate(config)
    x = as_tuple(net.example_input(2, config))
    sub = net.subnet(config).eval()
    with torch.no_grad():
        a, b = net(*x), sub(*x)
    assert a.shape == b.shape
    assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), (a - b).abs().max()


@pytest.mark.parametrize("name", FAMILIES)
def test_protocol_and_space(name, small_supernet):
    net = small_supernet(name)
    assert isinstance(net, SuperNet)
    space = net.space()
    rng = np.random.default_rng(0)
    for _ in range(3):
        cfg = space.sample(rng)
        assert space.key(cfg) == space.key(space.canonical(cfg))  # canonical keys are stable


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("which", ["min", "max", "sample"])
def test_subnet_equals_active_path(name, which, small_supernet):
    net = small_supernet(name)
    space = net.space()
    cfg = space.sample(np.random.default_rng(1)) if which == "sample" else space.extreme(which)
    _outputs_match(net, cfg)


@pytest.mark.parametrize("name", FAMILIES)
def test_config_outside_space_names_the_field(name, small_supernet):
    net = small_supernet(name)
    space = net.space()
    cfg = space.extreme("max")
    dim = space.choices[-1]
    bad = dict(cfg)
    bad[dim.name] = -12345 if dim.repeat is None else [-12345] * dim.repeat
    with pytest.raises(ConfigError, match=dim.name):
        net.subnet(bad)
    with pytest.raises(ConfigError):
        net.activate({"not_a_dimension": 1, **cfg})

"""The SuperNet contract, run on every registered family (new registrations are tested free)."""

import numpy as np
import pytest
import torch

from tailor.errors import ConfigError
from tailor.measure.latency import as_tuple
from tailor.supernets import SuperNet, list_supernets

FAMILIES = [n for n in list_supernets() if not n.startswith("_")]  # not test-only registrations


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


@pytest.mark.parametrize("name", FAMILIES)
def test_batchnorm_recalibration_in_place_equals_on_the_subnet(name, small_supernet):
    """Re-calibrating the super-network's active path (as training-time evaluation does) gives
    the statistics, hence the outputs, that re-calibrating the standalone sub-network gives."""
    from tailor.measure.accuracy import recalibrate_batchnorm

    net = small_supernet(name).eval()
    cfg = net.space().sample(np.random.default_rng(3))
    net.activate(cfg)
    sub = net.subnet(cfg).eval()
    gen = torch.Generator().manual_seed(0)
    batches = [(3.0 * torch.randn(as_tuple(net.example_input(16, cfg))[0].shape, generator=gen) + 1.0, None)
               for _ in range(3)]
    if not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules()):
        pytest.skip(f"{name} has no batch norm")
    recalibrate_batchnorm(net, batches, n_batches=3)
    recalibrate_batchnorm(sub, batches, n_batches=3)
    x = batches[0][0][:2]
    with torch.no_grad():
        a, b = net(x), sub(x)
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-3), (a - b).abs().max()

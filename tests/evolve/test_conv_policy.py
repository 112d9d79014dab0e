"""The conv policy from the policy registry: its flat vector is the torch module's parameters in
order, weights rebuild exactly from the seed chain, and its genome is tens of thousands of times
smaller than its dense weights."""

import numpy as np
import pytest
import torch

from tailor.errors import ConfigError, UnknownNameError
from tailor.evolve import Genome, ParamCache, init_scales, rebuild, to_module
from tailor.evolve._policy import PolicyIO, TorchPolicy, build_policy, from_module

IO = PolicyIO((2, 48, 48), 2, discrete=False, act_scale=1.0)


def test_conv_layout_matches_the_torch_module_and_the_atari_shapes():
    spec = build_policy("conv", {}, IO)
    module = spec.build_module()
    # 48x48 -> k8 s4 -> 11x11 -> k4 s2 -> 4x4 -> k3 s1 -> 2x2 (x 64) -> 256 -> 2
    assert spec.conv_out == (64, 2, 2)
    expected = (32 * 2 * 64 + 32) + (64 * 32 * 16 + 64) + (64 * 64 * 9 + 64) + (256 * 256 + 256) + (2 * 256 + 2)
    assert spec.n_params == expected == sum(p.numel() for p in module.parameters())
    scales = init_scales(spec)
    assert scales.size == spec.n_params
    assert scales[0] == pytest.approx(1 / np.sqrt(2 * 8 * 8)) and scales[32 * 2 * 64] == 0.0  # conv1 weight, bias
    assert scales[-1] == 0.0 and scales[-3] == pytest.approx(1 / 16)  # last Linear: fan_in 256, then its bias


def test_conv_weights_rebuild_exactly_from_the_seed_chain():
    spec = build_policy("conv", {"channels": [8, 16], "kernels": [8, 4], "strides": [4, 2], "hidden": [32]}, IO)
    scales = init_scales(spec)
    g = Genome(4)
    for i in range(5):
        g = g.child(100 + i, 0.005)
    theta = rebuild(g, scales)
    assert np.array_equal(theta, rebuild(Genome.from_json(g.to_json()), scales))
    cache = ParamCache(scales)
    cache.get(g.parent)
    assert np.array_equal(cache.get(g), theta) and cache.hits == 1  # a child of a cached parent: one add
    module = to_module(spec, theta)
    assert np.array_equal(from_module(module), theta)
    x = np.random.default_rng(0).random((2, 48, 48), dtype=np.float32)
    with torch.no_grad():
        ref = module(torch.from_numpy(x)[None])[0].numpy()
    runner = TorchPolicy(spec)
    np.testing.assert_allclose(runner.load(theta).forward(x), ref, rtol=1e-6, atol=1e-7)
    other = rebuild(g.parent.child(999, 0.005), scales)  # swapping weights in place leaves nothing behind
    runner.load(other)
    np.testing.assert_allclose(runner.load(theta).act(x), ref, rtol=1e-6, atol=1e-7)


def test_conv_genome_is_far_smaller_than_its_weights():
    spec = build_policy("conv", {}, IO)
    g = Genome(1)
    for i in range(100):
        g = g.child(i, 0.005)
    assert 4 * spec.n_params / Genome(1).child(2, 0.005).nbytes > 40_000  # after one generation
    assert 4 * spec.n_params / g.nbytes > 690  # still after 100 (an MLP of 114 weights is 0.6x there)


def test_bad_policy_specs_are_one_line_errors():
    with pytest.raises(UnknownNameError, match="allowed: conv, mlp"):
        build_policy("transformer", {}, IO)
    with pytest.raises(ConfigError, match="does not fit the 16x16 image"):
        build_policy("conv", {}, PolicyIO((2, 16, 16), 2))
    with pytest.raises(ConfigError, match="same"):
        build_policy("conv", {"channels": [8], "kernels": [8, 4], "strides": [4, 2]}, IO)
    with pytest.raises(ConfigError, match="policy conv.width"):
        build_policy("conv", {"width": 3}, IO)
    with pytest.raises(ConfigError, match=r"\(C, H, W\)"):
        build_policy("conv", {}, PolicyIO((10,), 2))
    assert build_policy("mlp", {"hidden": [8]}, PolicyIO((10,), 2)).n_params == 10 * 8 + 8 + 8 * 2 + 2

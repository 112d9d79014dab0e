"""Seed-chain genomes: weights rebuilt exactly from seeds, the cache gives the same bits, the
flat vector and the torch module agree."""

import numpy as np
import torch

from tailor.evolve import Genome, NumpyPolicy, ParamCache, PolicySpec, init_scales, noise, rebuild, to_module
from tailor.evolve._policy import from_module

SPEC = PolicySpec(obs_dim=5, act_dim=3, hidden=(7, 4), discrete=False, act_scale=2.0)


def _chain(n: int, init: int = 11) -> Genome:
    g = Genome(init)
    for i in range(n):
        g = g.child(1000 + 7 * i, 0.05 + 0.01 * i)
    return g


def test_rebuild_is_exact_and_matches_the_hand_computed_sum():
    scales = init_scales(SPEC)
    g = _chain(3)
    theta = rebuild(g, scales)
    manual = noise(11, scales.size) * scales
    for seed, sigma in g.mutations:
        manual = manual + np.float32(sigma) * noise(seed, scales.size)
    assert theta.dtype == np.float32 and theta.size == SPEC.n_params == 5 * 7 + 7 + 7 * 4 + 4 + 4 * 3 + 3
    assert np.array_equal(theta, manual)
    assert np.array_equal(theta, rebuild(Genome.from_json(g.to_json()), scales))  # from seeds alone
    assert not np.array_equal(theta, rebuild(_chain(3, init=12), scales))
    assert np.all(theta[5 * 7:5 * 7 + 7] != 0)  # biases start at 0 but mutations move them


def test_cache_gives_the_same_bits_and_a_cached_parent_costs_one_add():
    scales = init_scales(SPEC)
    cache = ParamCache(scales)
    parent = _chain(5)
    assert np.array_equal(cache.get(parent), rebuild(parent, scales))
    adds = cache.adds
    child = parent.child(77, 0.1)
    assert np.array_equal(cache.get(child), rebuild(child, scales))
    assert cache.adds == adds + 1 and cache.hits == 1
    # a grandchild with nothing but the grand-grandparent cached extends the longest cached prefix
    other = ParamCache(scales)
    other.get(_chain(2))
    deep = _chain(6)
    before = other.adds
    assert np.array_equal(other.get(deep), rebuild(deep, scales))
    assert other.adds - before == 4


def test_genome_bytes_are_small_against_dense_weights():
    g = _chain(10)
    assert g.nbytes == len(g.packed()) == 4 + 8 * 10
    big = PolicySpec(obs_dim=64, act_dim=8, hidden=(256, 256), discrete=True)
    assert 4 * big.n_params / g.nbytes > 1000


def test_flat_vector_and_torch_module_agree():
    theta = rebuild(_chain(2), init_scales(SPEC))
    module = to_module(SPEC, theta)
    assert np.array_equal(from_module(module), theta)
    x = np.random.default_rng(0).standard_normal(SPEC.obs_dim).astype(np.float32)
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(NumpyPolicy(SPEC, theta).forward(x), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(NumpyPolicy(SPEC, theta).act(x), 2.0 * ref, rtol=1e-5, atol=1e-6)

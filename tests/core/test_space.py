import json

import numpy as np
import pytest

from tailor.errors import ConfigError
from tailor.space import Choice, SearchSpace


@pytest.fixture
def space():
    return SearchSpace([
        Choice("kernel", (3, 5, 7), repeat=4, ordered=True),
        Choice("act", ("relu", "hswish")),
        Choice("res", (32, 64, 96), ordered=True),
    ])


def test_sampling_covers_choices_and_roundtrips(space):
    rng = np.random.default_rng(0)
    genes = space.sample_genes(rng, 500)
    assert genes.shape == (500, 6)
    assert (genes.min(0) == 0).all() and (genes.max(0) == space.cardinalities - 1).all()
    for g in genes[:20]:
        cfg = space.from_genes(g)
        assert np.array_equal(space.to_genes(cfg), g)
        assert space.validate(cfg) == cfg


def test_key_is_stable_and_distinguishes(space):
    a = {"kernel": [3, 5, 7, 3], "act": "relu", "res": 32}
    b = json.loads(json.dumps(a))
    assert space.key(a) == space.key(b)
    assert space.key(a) != space.key({**a, "res": 64})
    ids = space.identity(np.stack([space.to_genes(a), space.to_genes(b), space.to_genes({**a, "res": 64})]))
    assert ids[0] == ids[1] != ids[2]


def test_mutation_changes_at_least_one_gene_and_crossover_mixes_parents(space):
    rng = np.random.default_rng(1)
    parents = space.sample_genes(rng, 200)
    kids = space.mutate_genes(parents, rng)
    assert ((kids != parents).sum(1) >= 1).all()
    other = space.sample_genes(rng, 200)
    child = space.crossover_genes(parents, other, rng)
    assert ((child == parents) | (child == other)).all()
    a, b = space.from_genes(parents[0]), space.from_genes(other[0])
    assert space.mutate(a, rng) != a and space.validate(space.mutate(a, rng))
    mixed = space.to_genes(space.crossover(a, b, rng))
    assert ((mixed == parents[0]) | (mixed == other[0])).all()


def test_constraint_is_respected_everywhere():
    space = SearchSpace([Choice("x", (0, 1, 2), repeat=3)], constraint=lambda c: sum(c["x"]) <= 3)
    rng = np.random.default_rng(2)
    for g in space.sample_genes(rng, 100):
        assert sum(space.from_genes(g)["x"]) <= 3
    kids = space.mutate_genes(space.sample_genes(rng, 100), rng)
    assert all(sum(space.from_genes(g)["x"]) <= 3 for g in kids)
    n_valid = sum(1 for a in range(3) for b in range(3) for c in range(3) if a + b + c <= 3)
    assert len(space.enumerate_genes()) == n_valid
    with pytest.raises(ConfigError, match="constraint"):
        space.validate({"x": [2, 2, 2]})
    near = space.neighbour_genes(space.to_genes({"x": [1, 1, 0]}))
    assert len(near) == 5  # 6 one-gene changes; [1, 1, 2] breaks the constraint
    assert all(sum(g) <= 3 for g in near)


def test_neighbours_differ_in_exactly_one_gene(space):
    genes = space.sample_genes(np.random.default_rng(5), 3)
    near = space.neighbour_genes(genes)
    assert len(near) == 3 * sum(int(k) - 1 for k in space.cardinalities)
    changed = (near[:, None, :] != genes[None, :, :]).sum(axis=2)  # against each parent
    assert np.all(changed.min(axis=1) == 1)
    single = space.neighbour_genes(genes[:1])
    assert len({tuple(g) for g in single}) == len(single) == sum(int(k) - 1 for k in space.cardinalities)


def test_canonicalize_merges_equivalent_configs_and_sentinel_encodes():
    def canon(c):
        c = dict(c)
        c["k"] = [k if i < c["depth"] else None for i, k in enumerate(c["k"])]
        return c

    space = SearchSpace([Choice("depth", (1, 2, 3), ordered=True), Choice("k", (3, 5), repeat=3)], canonicalize=canon)
    a = {"depth": 1, "k": [3, 3, 5]}
    b = {"depth": 1, "k": [3, 5, 3]}
    assert space.key(a) == space.key(b)
    assert space.key(a) != space.key({"depth": 2, "k": [3, 5, 3]})
    ga, gb = space.to_genes(a), space.to_genes(b)
    assert space.identity(np.stack([ga, gb]))[0] == space.identity(np.stack([ga, gb]))[1]
    onehot = space.encode([a])[0]
    assert onehot.sum() == 2  # depth + the one live kernel; unused kernels all-zero
    assert (space.encode([a], "ordinal")[0][2:] == -1).all()


def test_validate_names_the_bad_field(space):
    good = {"kernel": [3, 5, 7, 3], "act": "relu", "res": 32}
    with pytest.raises(ConfigError, match=r"config\.kernel\[2\].*allowed: 3, 5, 7"):
        space.validate({**good, "kernel": [3, 5, 4, 3]})
    with pytest.raises(ConfigError, match=r"config\.res: is missing"):
        space.validate({k: v for k, v in good.items() if k != "res"})
    with pytest.raises(ConfigError, match="unknown dimension 'depth'"):
        space.validate({**good, "depth": 2})


def test_encodings_have_fixed_length(space):
    rng = np.random.default_rng(3)
    genes = space.sample_genes(rng, 10)
    assert space.encode_genes(genes, "onehot").shape == (10, 3 * 4 + 2 + 3)
    assert np.allclose(space.encode_genes(genes, "onehot").sum(1), 6)
    ordinal = space.encode_genes(genes, "ordinal")
    assert ordinal.shape == (10, 6) and ordinal.min() >= 0 and ordinal.max() <= 1
    with pytest.raises(ConfigError, match="encoding"):
        space.encode_genes(genes, "binary")


def test_space_from_yaml_and_json_files(tmp_path, space):
    y = tmp_path / "space.yaml"
    y.write_text("dimensions:\n  - {name: kernel, values: [3, 5, 7], repeat: 4, ordered: true}\n"
                 "  - {name: act, values: [relu, hswish]}\n  - {name: res, values: [32, 64, 96], ordered: true}\n")
    assert SearchSpace.from_file(y).describe() == space.describe()
    j = tmp_path / "space.json"
    j.write_text(json.dumps(space.describe()))
    assert SearchSpace.from_file(j).fingerprint() == space.fingerprint()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dimensions": [{"name": "a", "vals": [1]}]}))
    with pytest.raises(ConfigError, match="unknown key 'vals'"):
        SearchSpace.from_file(bad)


def test_extremes_and_size(space):
    assert space.size == 3**4 * 2 * 3
    assert space.extreme("min") == {"kernel": [3, 3, 3, 3], "act": "relu", "res": 32}
    assert space.extreme("max") == {"kernel": [7, 7, 7, 7], "act": "hswish", "res": 96}


def test_fingerprint_changes_with_the_constraint_and_canonical_form():
    from tailor.space import Choice, SearchSpace

    dims = [Choice("a", (1, 2, 3)), Choice("b", (1, 2))]
    plain = SearchSpace(dims).fingerprint()
    small = SearchSpace(dims, constraint=lambda c: c["a"] + c["b"] < 4).fingerprint()
    other = SearchSpace(dims, constraint=lambda c: c["a"] + c["b"] < 5).fingerprint()
    canon = SearchSpace(dims, canonicalize=lambda c: c).fingerprint()
    assert len({plain, small, other, canon}) == 4
    assert SearchSpace(dims, constraint=lambda c: c["a"] + c["b"] < 4).fingerprint() == small  # stable

"""Novelty = mean distance to the k nearest neighbours in archive + population, checked by brute force."""

import numpy as np

from tailor.evolve import novelty, ranks01


def test_novelty_equals_brute_force():
    rng = np.random.default_rng(3)
    pop, archive = rng.standard_normal((25, 2)), rng.standard_normal((40, 2)) * 3
    got = novelty(pop, archive, k=10)
    pool = np.concatenate([pop, archive])
    for i, b in enumerate(pop):
        d = np.sort(np.linalg.norm(pool - b, axis=1))[1:11]  # drop itself
        assert abs(got[i] - d.mean()) < 1e-12


def test_novelty_small_pool_and_hand_value():
    pts = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert np.allclose(novelty(pts, np.zeros((0, 2)), k=10), [5.0, 5.0])
    assert np.allclose(novelty(pts[:1], np.zeros((0, 2)), k=10), [0.0])
    # a far-away behaviour is the most novel
    pop = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [9.0, 9.0]])
    assert int(np.argmax(novelty(pop, np.zeros((0, 2)), k=2))) == 3


def test_ranks01():
    assert ranks01(np.array([5.0, -1.0, 2.0])).tolist() == [1.0, 0.0, 0.5]

"""The greedy batch's picks: exact hypervolume improvement, lazily evaluated in 3+ objectives."""

import numpy as np
import pytest

from tailor.search.acquisition import greedy_batch, hv_improvement
from tailor.search.pareto import hypervolume


def _greedy_exhaustive(front, optimistic, believed, n, ref):
    """Every alive candidate's gain recomputed every round: what the lazy version must equal."""
    picks, front, alive = [], front.copy(), np.ones(len(optimistic), dtype=bool)
    for _ in range(n):
        idx = np.flatnonzero(alive)
        if len(idx) == 0:
            break
        gain = hv_improvement(front, optimistic[idx], ref)
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        picks.append(int(idx[j]))
        alive[idx[j]] = False
        front = np.vstack([front, believed[idx[j]]])
    return picks


@pytest.mark.parametrize("n_obj", [3, 4])
@pytest.mark.parametrize("seed", range(3))
def test_lazy_greedy_picks_equal_exhaustive(n_obj, seed):
    rng = np.random.default_rng(seed)
    front = rng.random((12, n_obj))
    optimistic = rng.random((150, n_obj)) * 1.15
    if seed % 2:  # coarse values: many exact ties, which must go to the lowest index either way
        optimistic = np.round(optimistic, 1)
    believed = optimistic + rng.random(optimistic.shape) * 0.1
    ref = np.full(n_obj, 1.1)
    picks = greedy_batch(front, optimistic, believed, 8, ref)
    assert len(picks) == 8 and len(set(picks)) == 8
    assert picks == _greedy_exhaustive(front, optimistic, believed, 8, ref)


def test_greedy_stops_when_nothing_improves():
    front = np.zeros((1, 3))  # dominates every candidate
    cand = np.random.default_rng(0).random((50, 3))
    assert greedy_batch(front, cand, cand, 5, np.full(3, 1.1)) == []


def test_hv_improvement_matches_definition_in_2d_and_3d():
    rng = np.random.default_rng(1)
    for n_obj in (2, 3):
        front, cand, ref = rng.random((6, n_obj)), rng.random((20, n_obj)), np.full(n_obj, 1.1)
        want = [hypervolume(np.vstack([front, c]), ref) - hypervolume(front, ref) for c in cand]
        np.testing.assert_allclose(hv_improvement(front, cand, ref), want, atol=1e-12)

"""The default tactic's front-neighbour picks: random, by domination gap, or both alternately."""

import numpy as np
import pytest

from tailor.errors import ConfigError
from tailor.search import SearchSpec
from tailor.search.pareto import pareto_mask
from tailor.search.tailored import TailorTactic, domination_gap
from tailor.store import COMPLETE, open_store
from tailor.study import Study
from tailor.testing import toy_problem


def test_domination_gap_against_a_direct_loop():
    rng = np.random.default_rng(0)
    front, points = rng.random((30, 3)), rng.random((40, 3))
    front = front[pareto_mask(front)]
    direct = [max(min(p[j] - f[j] for j in range(3)) for f in front) for p in points]
    assert len(front) > 3
    np.testing.assert_allclose(domination_gap(front, points), direct)
    # on a (mutually non-dominated) front: 0 at its points, -0.2 once each moves 0.2 down everywhere,
    # and at least 0.2 once each moves 0.2 up (its own original dominates it by that much)
    np.testing.assert_allclose(domination_gap(front, front), 0.0, atol=1e-12)
    np.testing.assert_allclose(domination_gap(front, front - 0.2), -0.2)
    assert np.all(domination_gap(front, front + 0.2) >= 0.2 - 1e-12)


@pytest.mark.parametrize("pick", ["random", "gap", "mixed"])
def test_every_pick_mode_runs_an_exact_budget_without_repeats(pick):
    tactic = TailorTactic(neighbour_fraction=0.25, neighbour_pick=pick)
    study = Study(toy_problem(), tactic, open_store("sqlite://"), seed=2)
    study.optimize(60)
    keys = [t.key for t in study.trials((COMPLETE,))]
    assert len(keys) == len(set(keys)) == 60
    assert tactic.describe().get("neighbour_pick", "random") == pick


def test_pick_modes_choose_differently():
    runs = {}
    for pick in ("random", "gap"):
        study = Study(toy_problem(), TailorTactic(neighbour_fraction=0.5, neighbour_pick=pick), open_store("sqlite://"),
                      seed=5)
        study.optimize(50)
        runs[pick] = [t.key for t in study.trials()]
    assert runs["random"][:12] == runs["gap"][:12]  # the random start (a quarter of the budget) is shared
    assert runs["random"] != runs["gap"]


def test_unknown_pick_is_a_config_error():
    with pytest.raises(ConfigError, match="neighbour_pick"):
        SearchSpec("tailor", {"neighbour_pick": "closest"}).build()


def test_default_description_is_unchanged_so_older_studies_resume():
    described = TailorTactic().describe()
    assert "neighbour_pick" not in described and "neighbour_fraction" not in described
    assert TailorTactic(neighbour_fraction=0.2).describe()["neighbour_fraction"] == 0.2

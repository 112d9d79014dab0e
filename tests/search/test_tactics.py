import numpy as np
import pytest

from tailor.errors import ConfigError, UnknownNameError
from tailor.search import TACTICS, make_tactic
from tailor.store import COMPLETE, FAIL, open_store
from tailor.study import Study
from tailor.testing import interrupted_toy_problem, toy_problem

FAST = {
    "random": "random",
    "evolutionary": "evolutionary",
    "evolutionary:agemoea": "evolutionary:agemoea",
    "linas": "linas",
    "tailor": "tailor",
}


def _make(spec: str):
    tactic = make_tactic(spec)
    if tactic.name == "linas":  # keep the inner loop short in tests
        tactic.population, tactic.inner_evals = 20, 400
    if tactic.name == "evolutionary":
        tactic.pop_size = 20
    return tactic


def _run(spec, budget=70, seed=0, **problem_kw):
    problem = toy_problem(**problem_kw)
    study = Study(problem, _make(spec), open_store("sqlite://"), seed=seed)
    study.optimize(budget)
    return study


@pytest.mark.parametrize("spec", list(FAST))
def test_budget_exact_no_repeats_only_measured(spec):
    study = _run(spec)
    trials = study.trials((COMPLETE, FAIL))
    assert len(trials) == 70
    assert len({t.key for t in trials}) == 70
    assert all(set(t.metrics) == {"error", "size"} for t in trials)


@pytest.mark.parametrize("spec", list(FAST))
def test_same_seed_same_search_other_seed_other_search(spec):
    a = [t.key for t in _run(spec, budget=50, seed=3).trials()]
    b = [t.key for t in _run(spec, budget=50, seed=3).trials()]
    c = [t.key for t in _run(spec, budget=50, seed=4).trials()]
    assert a == b
    assert a != c


@pytest.mark.parametrize("spec", ["random", "evolutionary", "linas", "tailor"])
def test_interrupted_study_resumes_to_the_uninterrupted_result(spec, tmp_path):
    reference = [(t.key, t.metrics) for t in _run(spec, budget=60, seed=1).trials()]
    path = str(tmp_path / "s.db")
    problem = interrupted_toy_problem(27)  # mid-batch for every tactic
    with pytest.raises(KeyboardInterrupt):
        Study(problem, _make(spec), open_store(path), seed=1).optimize(60)
    assert len(open_store(path).trials(1, [COMPLETE])) == 26
    resumed = Study(toy_problem(), _make(spec), open_store(path), seed=1)
    resumed.optimize(60)
    assert [(t.key, t.metrics) for t in resumed.trials()] == reference


def test_a_space_smaller_than_the_budget_ends_without_repeats():
    study = _run("tailor", budget=100, n_genes=3, k=4)  # 64 configurations
    assert len(study.trials()) == 64


def test_failed_evaluations_are_stored_and_never_retried():
    study = _run("evolutionary", budget=60, fail=lambda c: c["x"][0] == 0)
    failed = study.trials((FAIL,))
    assert failed and all("refuses" in t.error for t in failed)
    keys = [t.key for t in study.trials((COMPLETE, FAIL))]
    assert len(keys) == len(set(keys)) == 60


def test_predictor_guided_tactics_beat_random_on_the_toy_problem():
    from tailor.objectives import to_minimisation
    from tailor.search import hypervolume

    def hv(spec, seed):
        study = _run(spec, budget=80, seed=seed, n_genes=8, k=4)
        F = to_minimisation([t.metrics for t in study.trials()], study.objectives)
        return hypervolume(F, np.array([1.6, 1.0]), np.array([0.0, 0.0]))

    tailor = np.median([hv("tailor", s) for s in range(3)])
    rand = np.median([hv("random", s) for s in range(3)])
    assert tailor > rand


def test_bad_tactic_names():
    with pytest.raises(UnknownNameError, match="allowed: default, evolutionary, linas, random, tailor"):
        make_tactic("bayes")
    with pytest.raises(UnknownNameError, match="algorithm"):
        make_tactic("evolutionary:cmaes")
    with pytest.raises(ConfigError, match="takes no algorithm"):
        make_tactic("random:nsga2")
    assert make_tactic("default").name == make_tactic(None).name == "tailor"
    assert set(TACTICS) == {"random", "evolutionary", "linas", "tailor"}


def test_budget_must_be_positive():
    study = Study(toy_problem(), make_tactic("random"), open_store("sqlite://"))
    with pytest.raises(ConfigError, match="budget"):
        study.optimize(0)


def test_robust_scale_keeps_outliers_from_setting_the_scale():
    from tailor.search.tailored import robust_scale

    rng = np.random.default_rng(0)
    F = np.column_stack([rng.uniform(5, 15, 60), rng.uniform(1, 30, 60)])
    F[:3, 0] = 90.0  # three degenerate sub-networks, far worse in the first objective
    Fn = robust_scale(F)
    body = Fn[3:, 0]
    assert body.min() == 0.0 and 0.5 < body.max() <= 1.0  # min-max scaling would squeeze them into [0, 0.12]
    assert np.all(Fn[:3, 0] > 5)  # the outliers stay worst, beyond the fence
    np.testing.assert_allclose(Fn[:, 1], (F[:, 1] - F[:, 1].min()) / np.ptp(F[:, 1]))  # no outliers: min-max
    assert np.all(robust_scale(np.ones((4, 2))) == 0.0)  # a constant column does not divide by zero
    np.testing.assert_allclose(robust_scale(F, fence=None), (F - F.min(0)) / np.ptp(F, axis=0))  # min-max
    tied = np.r_[np.zeros(9), 0.02]  # a saturated metric: the fence collapses onto the minimum
    np.testing.assert_allclose(robust_scale(tied[:, None])[:, 0], tied / 0.02)  # scaled by the maximum instead


def test_tailor_neighbour_picks_come_from_the_measured_front():
    from tailor.search import TailorTactic, pareto_mask

    def near_front_counts(neighbours: int) -> list[int]:
        """Per batch after the first: how many picks are one gene away from the front measured before it."""
        problem = toy_problem(n_genes=8, k=4)
        study = Study(problem, TailorTactic(neighbours=neighbours), open_store("sqlite://"), seed=0)
        study.optimize(80)
        h, counts = study.history, []
        for b in range(1, h.n_batches):
            before = h.batches < b
            front = h.genes[before][pareto_mask(h.F[before])]
            batch = h.genes[h.batches == b]
            one_away = ((batch[:, None, :] != front[None, :, :]).sum(axis=2) == 1).any(axis=1)
            counts.append(int(one_away.sum()))
        return counts

    with_three = near_front_counts(3)
    assert min(with_three[:-1]) >= 3, with_three  # the last batch may be cut short by the budget
    assert sum(with_three) > sum(near_front_counts(0))


def test_cheap_objectives_are_computed_not_predicted(tmp_path):
    """An objective a cheap evaluator reports (params here) reaches the default tactic exactly."""
    import toy_plugin  # noqa: F401  (tests/toy_plugin.py registers toy_mlp)

    from tailor.measure.evaluators import ComplexityEvaluator
    from tailor.problems import ProblemSpec, build_problem
    from tailor.search import TailorTactic
    from tailor.store import open_store
    from tailor.study import CheapObjectives, Study

    problem = build_problem(ProblemSpec("toy_mlp", {"seed": 1}))
    exact = CheapObjectives.of(problem)
    assert exact is not None and list(exact.columns) == [1]  # params is cheap, the fit error is not
    genes = problem.space.sample_genes(np.random.default_rng(0), 5)
    values = exact(genes)
    assert np.isnan(values[:, 0]).all()
    params = [ComplexityEvaluator(problem.supernet).evaluate([problem.space.from_genes(g)])[0]["params"]
              for g in genes]
    assert values[:, 1].tolist() == params

    seen = []

    class Spy(TailorTactic):
        def ask(self, history, n, rng):
            if self.exact is not None:
                seen.append(self.exact)
            return super().ask(history, n, rng)

    Study(problem, Spy(), open_store(str(tmp_path / "s.db")), seed=0).optimize(8)
    assert seen and isinstance(seen[0], CheapObjectives)


def test_evolutionary_on_a_nearly_exhausted_space_fills_with_unseen_configurations(tmp_path):
    """pymoo's ask() returns None once mating makes no new individual (27 configurations, population
    50): the batch is filled with random unseen ones instead of crashing, and every configuration
    is measured exactly once."""
    import tailor.testing.toy  # noqa: F401  (registers the toy problem)
    from tailor.cli import main
    from tailor.store import open_existing_store

    out = tmp_path / "out"
    assert main(["search", "toy", "--tactic", "evolutionary", "-o", "n_genes=3", "-o", "k=3", "--budget", "27",
                 "--out", str(out)]) == 0
    store = open_existing_store(str(out / "study.db"))
    try:
        keys = [t.key for t in store.trials(store.load_study().id)]
    finally:
        store.close()
    assert len(keys) == 27 and len(set(keys)) == 27

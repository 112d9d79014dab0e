"""Deep GA semantics: truncation, elitism with re-evaluation, no crossover, T = 0 random search, and
GA-NS with surviving parents (mu + lambda): the T parents compete again, with their stored outcome,
in the next selection; nothing is re-evaluated; runs with and without the option resume exactly."""

import numpy as np
import pytest

from tailor.errors import ConfigError
from tailor.evolve import Episode, GAConfig, GAState, Genome, Job, TaskSpec, initial_state, novelty, run_config, step
from tailor.evolve._store import EvolveStore


class FakeEvaluator:
    """Return = a fixed value per genome (one episode) plus a per-episode-seed offset, so single
    episodes and re-evaluated means rank individuals differently; behaviour = a hash point."""

    def __init__(self):
        self.calls: list[list[Job]] = []

    @staticmethod
    def base(g: Genome) -> float:
        return float(np.random.default_rng([g.init_seed, *[s for s, _ in g.mutations]]).uniform(0, 100))

    def evaluate(self, jobs):
        self.calls.append(list(jobs))
        out = []
        for j in jobs:
            b = self.base(j.genome)
            eps = []
            for s in j.seeds:
                jitter = float(np.random.default_rng([s, j.genome.init_seed, len(j.genome.mutations)]).normal(0, 30))
                eps.append(Episode(b + (jitter if len(j.seeds) > 1 else 0.0), (b, b / 2), 10))
            out.append(tuple(eps))
        return out

    def close(self):
        pass


def test_truncation_elitism_and_mutation():
    cfg = GAConfig(population=30, truncation=5, sigma=0.02, seed=1, elite_candidates=10, elite_episodes=4)
    ev = FakeEvaluator()
    state = initial_state(cfg)
    assert len(state.population) == 30 and all(not g.mutations for g in state.population)
    pop = state.population
    nxt, rec = step(cfg, state, ev)
    returns = {g: FakeEvaluator.base(g) for g in pop}
    ranked = sorted(pop, key=lambda g: -returns[g])
    # re-evaluation: the 10 best single-episode individuals, 4 extra episodes each, best mean wins
    reeval = ev.calls[1]
    assert [j.genome for j in reeval] == ranked[:10] and all(len(j.seeds) == 4 for j in reeval)
    means = {j.genome: np.mean([e.ret for e in r]) for j, r in zip(reeval, ev.evaluate(reeval), strict=True)}
    elite = max(means, key=means.get)
    assert nxt.elite == elite and nxt.population[0] == elite and rec["elite"] == pytest.approx(means[elite])
    assert rec["best"] == pytest.approx(max(returns.values()))
    assert rec["evaluations"] == 30 + 10 * 4 and rec["frames"] == 10 * (30 + 40)
    # children: one more mutation of sigma on a parent from the top 5 (no crossover)
    top = set(ranked[:5])
    for child in nxt.population[1:]:
        assert child.parent in top and child.mutations[-1][1] == 0.02 and len(child.mutations) == 1
    assert len(nxt.population) == 30 and len({c.parent for c in nxt.population[1:]}) > 1
    # next generation: the previous elite is a re-evaluation candidate again
    nxt2, _ = step(cfg, nxt, ev)
    assert elite in [j.genome for j in ev.calls[-1]]


def test_truncation_zero_is_random_search():
    cfg = GAConfig(population=20, truncation=0, sigma=0.1, seed=2)
    state = initial_state(cfg)
    seen = set(state.population)
    ev = FakeEvaluator()
    for _ in range(3):
        state, rec = step(cfg, state, ev)
        assert all(not g.mutations for g in state.population)  # fresh random networks only
        assert not (set(state.population) & seen)
        seen |= set(state.population)
    assert state.elite is not None and not state.elite.mutations


def test_novelty_selects_by_behaviour_not_reward():
    cfg = GAConfig(population=30, truncation=3, sigma=0.1, novelty="ns", seed=3, archive_prob=1.0)
    ev = FakeEvaluator()
    state = initial_state(cfg)
    nxt, rec = step(cfg, state, ev)
    assert rec["archive_size"] == 30 and len(nxt.archive) == 30
    b = np.array([[FakeEvaluator.base(g), FakeEvaluator.base(g) / 2] for g in state.population])
    nov = novelty(b, np.zeros((0, 2)), 10)
    parents = {c.parent for c in nxt.population[1:]}
    assert parents <= {state.population[i] for i in np.argsort(-nov, kind="stable")[:3]}


def test_state_round_trips_through_json_and_reproduces():
    cfg = GAConfig(population=12, truncation=3, sigma=0.1, novelty="mix", seed=4, archive_prob=0.3)
    ev = FakeEvaluator()
    s1, _ = step(cfg, initial_state(cfg), ev)
    a, ra = step(cfg, s1, ev)
    b, rb = step(cfg, GAState.from_json(s1.to_json()), ev)
    assert ra == rb and a.to_json() == b.to_json()


@pytest.mark.parametrize("kw,field", [({"population": 5, "truncation": 6}, "truncation"),
                                      ({"sigma": 0.0}, "sigma"), ({"sigma": -1.0}, "sigma"),
                                      ({"novelty": "x"}, "novelty"),
                                      ({"population": 1, "truncation": 0}, "population")])
def test_bad_config(kw, field):
    args = {"population": 10, "truncation": 2, "sigma": 0.1, **kw}
    with pytest.raises(ConfigError) as e:
        GAConfig(**args)
    assert e.value.field == field


def _cfg(**kw):
    return GAConfig(**{"population": 30, "truncation": 4, "sigma": 0.1, "novelty": "ns", "seed": 5,
                       "archive_prob": 0.2, "parents_survive": True, **kw})


def test_parents_compete_again_without_reevaluation():
    cfg, ev = _cfg(), FakeEvaluator()
    s0 = initial_state(cfg)
    s1, r1 = step(cfg, s0, ev)
    b0 = np.array([[FakeEvaluator.base(g), FakeEvaluator.base(g) / 2] for g in s0.population])
    top0 = [s0.population[i] for i in np.argsort(-novelty(b0, np.zeros((0, 2)), 10), kind="stable")[:4]]
    assert [p[0] for p in s1.parents] == top0 and r1["parents_carried"] == 0
    assert s1.parents[0][2] == pytest.approx(b0[np.argsort(-novelty(b0, np.zeros((0, 2)), 10))[0]].tolist())

    s2, r2 = step(cfg, s1, ev)
    assert len(ev.calls[2]) == 30  # the generation's episodes: the population only, parents not rerun
    pool = s1.population + [p[0] for p in s1.parents]
    b1 = np.array([[FakeEvaluator.base(g), FakeEvaluator.base(g) / 2] for g in pool])
    nov = novelty(b1, np.array(s1.archive).reshape(-1, 2), 10)
    want = [pool[i] for i in np.argsort(-nov, kind="stable")[:4]]
    assert [p[0] for p in s2.parents] == want
    assert r2["parents_carried"] == sum(p in top0 for p in want)
    assert {c.parent for c in s2.population[1:]} <= set(want)


def test_a_parent_survives_while_it_stays_the_most_novel():
    # behaviour of a genome = its base value; the generation-0 extremes stay extreme for a while
    cfg, ev = _cfg(population=20, truncation=2, archive_prob=0.0), FakeEvaluator()
    state, carried = initial_state(cfg), []
    for _ in range(4):
        state, rec = step(cfg, state, ev)
        carried.append(rec["parents_carried"])
    assert sum(carried) > 0  # without the option it is always 0
    off = GAConfig(population=20, truncation=2, sigma=0.1, novelty="ns", seed=5, archive_prob=0.0)
    s = initial_state(off)
    for _ in range(4):
        s, rec = step(off, s, ev)
        assert rec["parents_carried"] == 0 and s.parents == [] and "parents" not in s.to_json()


def test_resume_round_trip_and_old_states():
    cfg, ev = _cfg(), FakeEvaluator()
    s1, _ = step(cfg, step(cfg, initial_state(cfg), ev)[0], ev)
    a, ra = step(cfg, s1, ev)
    b, rb = step(cfg, GAState.from_json(s1.to_json()), ev)
    assert ra == rb and a.to_json() == b.to_json()
    # a state stored before the option existed has no "parents": it loads with none
    old = s1.to_json()
    del old["parents"]
    assert GAState.from_json(old).parents == []


def test_old_runs_resume_and_runs_with_the_option_are_refused_by_old_settings(tmp_path):
    spec = TaskSpec("CartPole-v1")
    off = GAConfig(population=10, truncation=2, sigma=0.1)
    assert "parents_survive" not in run_config(spec, off)  # stored configs of old runs match
    store = EvolveStore(str(tmp_path / "e.db"))
    store.open_run("r", run_config(spec, off))
    assert store.open_run("r", run_config(spec, off))[1] is None
    with pytest.raises(ConfigError, match="parents_survive"):
        store.open_run("r", run_config(spec, GAConfig(population=10, truncation=2, sigma=0.1,
                                                      parents_survive=True)))
    store.close()
    with pytest.raises(ConfigError) as e:
        GAConfig(population=10, truncation=0, sigma=0.1, parents_survive=True)
    assert e.value.field == "parents_survive"

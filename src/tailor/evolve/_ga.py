"""The Deep GA of Such et al. (2017), one generation at a time, with its whole state JSON-able.

Each generation: evaluate the N individuals (one episode each); score them by reward, novelty
(GA-NS) or a rank mix of both; the top T by score become parents; the top ``elite_candidates``
by reward plus the previous elite are re-evaluated on ``elite_episodes`` more episodes and the best
mean is the elite, copied unchanged into the next generation; the other N-1 are a uniformly random
parent plus sigma * N(0, I) (no crossover). T = 0 is random search: every generation is N fresh
random networks (the elite is still tracked). With ``parents_survive`` (mu + lambda selection, as
NEAT-NS keeps its champions) the T parents, with their stored outcome, also compete in the next
generation's selection, so the most novel robots are not lost before a child goes further; they
are not re-evaluated (deterministic tasks: the same episode), so the episode budget is unchanged.
All randomness comes from one numpy generator whose
state is part of ``GAState``, and episode seeds are a hash of (seed, generation, slot), so a run
resumed from any stored generation, evaluated by any worker, gives the same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tailor.errors import ConfigError
from tailor.evolve._genome import SEED_BOUND, Genome
from tailor.evolve._novelty import novelty, ranks01
from tailor.evolve._tasks import Episode

NOVELTY_MODES = ("off", "ns", "mix")


@dataclass(frozen=True)
class GAConfig:
    """Everything that changes a run's results (stored with it and checked on resume)."""

    population: int
    truncation: int
    sigma: float
    novelty: str = "off"
    seed: int = 0
    elite_candidates: int = 10
    elite_episodes: int = 5
    k: int = 10
    archive_prob: float = 0.01
    mix_weight: float = 0.5
    parents_survive: bool = False

    def __post_init__(self) -> None:
        if self.population < 2:
            raise ConfigError("population", f"must be at least 2, got {self.population}")
        if self.truncation < 0 or self.truncation > self.population:
            raise ConfigError("truncation", f"must be in 0..population ({self.population}), got {self.truncation}")
        if not self.sigma > 0:
            raise ConfigError("sigma", f"must be > 0, got {self.sigma}")
        if self.novelty not in NOVELTY_MODES:
            raise ConfigError("novelty", f"unknown mode {self.novelty!r}", NOVELTY_MODES)
        if self.elite_episodes < 1 or self.elite_candidates < 1:
            raise ConfigError("elite_episodes", "elite_episodes and elite_candidates must be >= 1")
        if self.parents_survive and self.truncation == 0:
            raise ConfigError("parents_survive", "needs parents: truncation must be > 0")


@dataclass(frozen=True)
class Job:
    """Evaluate ``genome`` once per episode seed. What a worker receives: seeds only, no weights."""

    genome: Genome
    seeds: tuple[int, ...]


class Evaluator(Protocol):
    """Runs jobs (in process, or on Ray workers) and returns one tuple of episodes per job, in order."""

    def evaluate(self, jobs: Sequence[Job]) -> list[tuple[Episode, ...]]: ...

    def close(self) -> None: ...


def episode_seed(seed: int, generation: int, slot: int, kind: int) -> int:
    """The env seed of one episode: fixed by (run seed, generation, slot, kind), never by the worker."""
    return int(np.random.SeedSequence([seed, generation, slot, kind]).generate_state(1)[0] % SEED_BOUND)


@dataclass
class GAState:
    """What survives a restart: the next generation to run and everything it depends on."""

    generation: int
    population: list[Genome]
    elite: Genome | None = None
    elite_return: float | None = None
    archive: list[list[float]] = field(default_factory=list)
    rng: dict[str, Any] = field(default_factory=dict)
    # parents_survive: last generation's parents as (genome, return, behaviour), competing again
    parents: list[tuple[Genome, float, list[float]]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = {"generation": self.generation, "population": [g.to_json() for g in self.population],
             "elite": self.elite.to_json() if self.elite else None, "elite_return": self.elite_return,
             "archive": self.archive, "rng": self.rng}
        if self.parents:  # absent in states stored before parents could survive
            d["parents"] = [[g.to_json(), r, b] for g, r, b in self.parents]
        return d

    @staticmethod
    def from_json(d: dict[str, Any]) -> GAState:
        return GAState(d["generation"], [Genome.from_json(g) for g in d["population"]],
                       Genome.from_json(d["elite"]) if d["elite"] else None, d["elite_return"],
                       d["archive"], d["rng"],
                       [(Genome.from_json(g), float(r), list(b)) for g, r, b in d.get("parents", [])])


def _rng(state: GAState) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = state.rng
    return rng


def initial_state(config: GAConfig) -> GAState:
    rng = np.random.default_rng(config.seed)
    population = [Genome(int(s)) for s in rng.integers(0, SEED_BOUND, config.population)]
    return GAState(0, population, rng=rng.bit_generator.state)


def scores(config: GAConfig, returns: np.ndarray, behaviours: np.ndarray, archive: list[list[float]]) -> np.ndarray:
    """Selection score per individual: reward (off), novelty (ns) or the rank mix (mix)."""
    if config.novelty == "off":
        return returns
    nov = novelty(behaviours, np.asarray(archive, dtype=np.float64).reshape(-1, behaviours.shape[1]), config.k)
    if config.novelty == "ns":
        return nov
    return (1 - config.mix_weight) * ranks01(returns) + config.mix_weight * ranks01(nov)


def step(config: GAConfig, state: GAState, evaluator: Evaluator) -> tuple[GAState, dict[str, Any]]:
    """Run generation ``state.generation``; return the next state and the generation's record."""
    g = state.generation
    rng = _rng(state)
    pop = state.population
    outcomes = evaluator.evaluate([Job(gen, (episode_seed(config.seed, g, i, 0),)) for i, gen in enumerate(pop)])
    eps = [o[0] for o in outcomes]
    returns = np.array([e.ret for e in eps], dtype=np.float64)
    behaviours = np.array([e.behaviour for e in eps], dtype=np.float64)
    # the selection pool: this generation, plus the surviving parents with their stored outcomes
    pool = list(pop) + [p[0] for p in state.parents]
    pool_returns = np.concatenate([returns, [p[1] for p in state.parents]])
    pool_behaviours = np.concatenate([behaviours, np.array([p[2] for p in state.parents], dtype=np.float64)
                                      .reshape(-1, behaviours.shape[1])])
    score = scores(config, pool_returns, pool_behaviours, state.archive)
    archive = list(state.archive)
    for i in np.flatnonzero(rng.random(len(pop)) < config.archive_prob):
        archive.append([float(v) for v in behaviours[i]])

    # elitism: the top candidates by reward (and the previous elite) on extra episodes, best mean kept
    order = np.argsort(-returns, kind="stable")
    candidates = list(dict.fromkeys([pop[i] for i in order[:config.elite_candidates]]
                                    + ([state.elite] if state.elite is not None else [])))
    extra = tuple(episode_seed(config.seed, g, j, 1) for j in range(config.elite_episodes))
    reeval = evaluator.evaluate([Job(c, extra) for c in candidates])
    means = [float(np.mean([e.ret for e in r])) for r in reeval]
    best = int(np.argmax(means))
    elite, elite_return = candidates[best], means[best]

    # the next generation
    parents: list[tuple[Genome, float, list[float]]] = []
    carried = 0
    if config.truncation == 0:
        nxt = [Genome(int(s)) for s in rng.integers(0, SEED_BOUND, config.population)]
    else:
        parents_idx = np.argsort(-score, kind="stable")[:config.truncation]
        picks = rng.integers(0, config.truncation, config.population - 1)
        seeds = rng.integers(0, SEED_BOUND, config.population - 1)
        nxt = [elite] + [pool[int(parents_idx[p])].child(int(s), config.sigma)
                         for p, s in zip(picks, seeds, strict=True)]
        carried = int(np.sum(parents_idx >= len(pop)))
        if config.parents_survive:
            parents = [(pool[int(i)], float(pool_returns[i]), [float(v) for v in pool_behaviours[i]])
                       for i in parents_idx]
    frames = sum(e.frames for e in eps) + sum(e.frames for r in reeval for e in r)
    record = {
        "generation": g, "best": float(returns.max()), "mean": float(returns.mean()), "elite": elite_return,
        "evaluations": len(pop) + len(candidates) * config.elite_episodes, "frames": int(frames),
        "reached": int(sum(e.reached for e in eps) + sum(e.reached for r in reeval for e in r)),
        "elite_seed_chain": elite.to_json(), "archive_size": len(archive), "parents_carried": carried,
        "behaviours": behaviours.round(4).tolist(),
    }
    nstate = GAState(g + 1, nxt, elite, elite_return, archive, rng.bit_generator.state, parents)
    return nstate, record

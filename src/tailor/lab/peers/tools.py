"""Peer search tools driven on a tailor ``Problem``: the same evaluators, budgets and seeds.

Every adapter returns a ``Trace``: the metrics of every evaluation it asked for, in order
(repeats included, since each one costs a real measurement), and its wall and evaluation time,
so that ``overhead = wall - evaluation`` means the same thing for every tool.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tailor.objectives import to_minimisation
from tailor.problems import Problem


@dataclass
class Trace:
    metrics: list[dict[str, float]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    configs: list[dict] = field(default_factory=list)  # to re-measure a front later
    wall_s: float = 0.0
    eval_s: float = 0.0

    @property
    def repeats(self) -> int:
        """Evaluations of a configuration this run had already measured."""
        return len(self.keys) - len(set(self.keys))

    @property
    def overhead_s_per_eval(self) -> float:
        return max(self.wall_s - self.eval_s, 0.0) / max(len(self.metrics), 1)


class Meter:
    """Measures configurations with the problem's evaluators and keeps the trace."""

    def __init__(self, problem: Problem, budget: int):
        self.problem, self.budget, self.trace = problem, budget, Trace()

    @property
    def left(self) -> int:
        return self.budget - len(self.trace.metrics)

    def __call__(self, config: dict) -> np.ndarray:
        """The minimisation vector of one configuration (measured, and counted)."""
        t0 = time.perf_counter()
        metrics: dict[str, float] = {}
        for evaluator in self.problem.evaluators:
            metrics.update(evaluator.evaluate([config])[0])
        self.trace.eval_s += time.perf_counter() - t0
        self.trace.metrics.append(metrics)
        self.trace.keys.append(self.problem.space.key(config))
        self.trace.configs.append(dict(config))
        return to_minimisation([metrics], self.problem.objectives)[0]


def _timed(run: Callable[[Meter], None], problem: Problem, budget: int) -> Trace:
    meter = Meter(problem, budget)
    t0 = time.perf_counter()
    run(meter)
    meter.trace.wall_s = time.perf_counter() - t0
    meter.trace.metrics = meter.trace.metrics[:budget]
    meter.trace.keys = meter.trace.keys[:budget]
    meter.trace.configs = meter.trace.configs[:budget]
    return meter.trace


# ---------------------------------------------------------------------------------------- tailor
def run_tailor(problem: Problem, budget: int, seed: int, tactic: str) -> Trace:
    from tailor.search import make_tactic
    from tailor.store import open_store
    from tailor.study import Study

    study = Study(problem, make_tactic(tactic), open_store("sqlite://"), name="peer-bench", seed=seed)
    stats = study.optimize(budget)
    trials = study.trials()
    return Trace([t.metrics for t in trials], [t.key for t in trials], [dict(t.config) for t in trials],
                 stats.wall_s, stats.eval_s)


# ---------------------------------------------------------------------------------------- optuna
def _optuna_params(trial, problem: Problem) -> dict:
    """One suggest per gene: categorical dimensions by value, ordered ones by index."""
    genes = []
    for c in problem.space.choices:
        for i in range(c.n_genes):
            name = c.name if c.repeat is None else f"{c.name}[{i}]"
            if c.ordered:
                genes.append(trial.suggest_int(name, 0, len(c.values) - 1))
            else:
                idx = list(range(len(c.values)))
                genes.append(trial.suggest_categorical(name, idx))
    return problem.space.from_genes(np.array(genes))


def run_optuna(problem: Problem, budget: int, seed: int, sampler: str) -> Trace:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = {
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed),
    }
    directions = ["minimize"] * len(problem.objectives)

    def run(meter: Meter) -> None:
        study = optuna.create_study(directions=directions, sampler=samplers[sampler]())
        study.optimize(lambda trial: tuple(meter(_optuna_params(trial, problem))), n_trials=budget)

    return _timed(run, problem, budget)


# ---------------------------------------------------------------------------------------- pymoo
def run_pymoo(problem: Problem, budget: int, seed: int, pop_size: int = 50) -> Trace:
    """pymoo's NSGA-II with its integer recipe, on the real evaluator (no predictors)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem as PymooProblem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.optimize import minimize

    space = problem.space
    n_obj = len(problem.objectives)

    def run(meter: Meter) -> None:
        class Genes(PymooProblem):
            def __init__(self):
                super().__init__(n_var=space.n_genes, n_obj=n_obj, xl=0, xu=space.cardinalities - 1, vtype=int)

            def _evaluate(self, X, out, *args, **kwargs):
                rows = []
                for x in np.asarray(X).round().astype(int):
                    # Past the budget a generation still has members: they get a placeholder
                    # and are never counted (the trace is cut at the budget).
                    rows.append(meter(space.from_genes(x)) if meter.left > 0 else np.full(n_obj, 1e12))
                out["F"] = np.array(rows)

        algorithm = NSGA2(pop_size=pop_size, sampling=IntegerRandomSampling(),
                          crossover=SBX(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
                          mutation=PM(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
                          eliminate_duplicates=True)
        minimize(Genes(), algorithm, ("n_eval", budget), seed=seed, verbose=False)

    return _timed(run, problem, budget)


TOOLS: dict[str, Callable[[Problem, int, int], Trace]] = {
    "tailor-default": lambda p, b, s: run_tailor(p, b, s, "default"),
    "tailor-linas": lambda p, b, s: run_tailor(p, b, s, "linas"),
    "random": lambda p, b, s: run_tailor(p, b, s, "random"),
    "optuna-nsga2": lambda p, b, s: run_optuna(p, b, s, "nsga2"),
    "optuna-tpe": lambda p, b, s: run_optuna(p, b, s, "tpe"),
    "optuna-gp": lambda p, b, s: run_optuna(p, b, s, "gp"),
    "pymoo-nsga2": run_pymoo,
}

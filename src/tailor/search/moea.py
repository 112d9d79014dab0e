"""pymoo multi-objective evolutionary algorithms, driven by ask/tell over a gene problem.

A pymoo algorithm keeps a population between generations. tailor keeps no such state: each ask
rebuilds the algorithm from its seed and replays the recorded generations (the measured genes and
values of every earlier batch), which is cheap, deterministic, and survives a kill.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pymoo.core.population import Population
from pymoo.core.problem import Problem as PymooProblem
from pymoo.core.termination import NoTermination
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.operators.sampling.rnd import IntegerRandomSampling

from tailor.errors import UnknownNameError
from tailor.space import SearchSpace


def _nsga2(pop: int, n_obj: int):
    from pymoo.algorithms.moo.nsga2 import NSGA2

    return NSGA2(pop_size=pop, **_operators())


def _agemoea(pop: int, n_obj: int):
    from pymoo.algorithms.moo.age import AGEMOEA

    return AGEMOEA(pop_size=pop, **_operators())


def _unsga3(pop: int, n_obj: int):
    from pymoo.algorithms.moo.unsga3 import UNSGA3
    from pymoo.util.ref_dirs import get_reference_directions

    ref = get_reference_directions("energy", n_obj, max(pop, n_obj + 1), seed=1)
    return UNSGA3(ref_dirs=ref, pop_size=pop, **_operators())


def _spea2(pop: int, n_obj: int):
    from pymoo.algorithms.moo.spea2 import SPEA2

    return SPEA2(pop_size=pop, **_operators())


ALGORITHMS: dict[str, Callable] = {"nsga2": _nsga2, "agemoea": _agemoea, "unsga3": _unsga3, "spea2": _spea2}


def _operators() -> dict:
    """Integer operators as DyNAS-T configures pymoo: SBX and PM with rounding."""
    return {
        "sampling": IntegerRandomSampling(),
        "crossover": SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
        "mutation": PM(eta=20, vtype=float, repair=RoundingRepair()),
        "eliminate_duplicates": True,
    }


def make_algorithm(name: str, pop_size: int, n_obj: int):
    if name not in ALGORITHMS:
        raise UnknownNameError("algorithm", name, ALGORITHMS)
    return ALGORITHMS[name](pop_size, n_obj)


class GeneProblem(PymooProblem):
    """Integer genes in [0, k-1]; ``objective`` (optional) evaluates a gene matrix for ``minimize``."""

    def __init__(self, space: SearchSpace, n_obj: int, objective: Callable[[np.ndarray], np.ndarray] | None = None):
        super().__init__(n_var=space.n_genes, n_obj=n_obj, n_ieq_constr=1, xl=np.zeros(space.n_genes),
                         xu=(space.cardinalities - 1).astype(float), vtype=int)
        self.space, self.objective = space, objective

    def _evaluate(self, x, out, *args, **kwargs):
        genes = np.clip(np.round(x).astype(np.int64), 0, self.space.cardinalities - 1)
        out["F"] = self.objective(genes)
        out["G"] = np.full((len(genes), 1), -1.0)


def start(algorithm, problem: GeneProblem, seed: int):
    algorithm.setup(problem, termination=NoTermination(), seed=seed, verbose=False)
    return algorithm


def tell(algorithm, genes: np.ndarray, F: np.ndarray, feasible: np.ndarray) -> None:
    """Tell measured (or failed: ``feasible`` False) individuals to a pymoo algorithm."""
    G = np.where(feasible, -1.0, 1.0)[:, None]
    pop = Population.new(X=genes.astype(float), F=F, G=G)
    algorithm.evaluator.n_eval += len(pop)
    algorithm.tell(infills=pop)


def ask_genes(algorithm, space: SearchSpace) -> np.ndarray:
    """The algorithm's next offspring as genes; none (an empty matrix) when it has no new one.

    pymoo's ``ask`` returns None once mating cannot make an unseen individual (a small space,
    nearly exhausted); the tactic then fills the batch with random unseen configurations.
    """
    infills = algorithm.ask()
    if infills is None:
        return np.zeros((0, space.n_genes), dtype=np.int64)
    X = infills.get("X")
    return np.clip(np.round(X).astype(np.int64), 0, space.cardinalities - 1)

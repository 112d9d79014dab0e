"""Plain multi-objective evolution on real measurements (pymoo NSGA-II by default)."""

from __future__ import annotations

import numpy as np

from tailor.search import moea
from tailor.search.base import Tactic, fill_unseen
from tailor.search.history import History


class EvolutionaryTactic(Tactic):
    """Each batch is one generation of a pymoo MOEA whose offspring are measured for real."""

    name = "evolutionary"

    def __init__(self, algorithm: str = "nsga2", pop_size: int = 50):
        moea.make_algorithm(algorithm, pop_size, 2)  # fail early on an unknown name
        self.algorithm, self.pop_size = algorithm, pop_size

    def batch_size(self, history: History, budget: int) -> int:
        return self.pop_size

    def ask(self, history: History, n: int, rng: np.random.Generator) -> np.ndarray:
        algo = moea.start(
            moea.make_algorithm(self.algorithm, self.pop_size, self.n_obj),
            moea.GeneProblem(self.space, self.n_obj), self.seed,
        )
        for b in range(history.n_batches):  # replay: same asks, the recorded answers
            moea.ask_genes(algo, self.space)
            genes, F, feasible = history.batch(b)
            if len(genes):
                moea.tell(algo, genes, F, feasible)
        return fill_unseen(history, moea.ask_genes(algo, self.space), n, rng)

    def describe(self) -> dict:
        return {"tactic": self.name, "algorithm": self.algorithm, "pop_size": self.pop_size}

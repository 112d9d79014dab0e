"""LINAS as DyNAS-T runs it: measure a population, fit predictors, evolve on them, measure the result.

Faithful to DyNAS-T's loop: a random first population; then, each iteration, one predictor per
objective fitted on every measurement so far (chosen by cross-validation), a long MOEA run
(``inner_evals`` predicted evaluations) on the predictors, and the MOEA's final population is
measured. Unlike DyNAS-T, configurations already measured are replaced rather than re-measured.
"""

from __future__ import annotations

import numpy as np
from pymoo.optimize import minimize

from tailor.predict import AutoPredictor
from tailor.search import moea
from tailor.search.base import Tactic, fill_unseen
from tailor.search.history import History


class LinasTactic(Tactic):
    name = "linas"

    def __init__(self, population: int = 50, inner_evals: int = 5000, algorithm: str = "nsga2",
                 predictors: tuple[str, ...] = ("ridge", "svr", "gbt")):
        moea.make_algorithm(algorithm, population, 2)
        self.population, self.inner_evals, self.algorithm = population, inner_evals, algorithm
        self.predictors = predictors

    def batch_size(self, history: History, budget: int) -> int:
        return self.population

    def ask(self, history: History, n: int, rng: np.random.Generator) -> np.ndarray:
        if len(history) < 2:
            return fill_unseen(history, np.empty((0, self.space.n_genes), dtype=np.int64), n, rng)
        X = self.space.encode_genes(history.genes, "onehot")
        seed = int(rng.integers(2**31))
        models = [AutoPredictor(self.predictors, seed=seed).fit(X, history.F[:, j]) for j in range(self.n_obj)]

        def predicted(genes: np.ndarray) -> np.ndarray:
            Xg = self.space.encode_genes(genes, "onehot")
            return np.stack([m.predict(Xg)[0] for m in models], axis=1)

        problem = moea.GeneProblem(self.space, self.n_obj, objective=predicted)
        algorithm = moea.make_algorithm(self.algorithm, self.population, self.n_obj)
        result = minimize(problem, algorithm, ("n_eval", self.inner_evals), seed=seed, verbose=False)
        final = np.clip(np.round(result.pop.get("X")).astype(np.int64), 0, self.space.cardinalities - 1)
        return fill_unseen(history, final, n, rng)

    def describe(self) -> dict:
        return {"tactic": self.name, "population": self.population, "inner_evals": self.inner_evals,
                "algorithm": self.algorithm, "predictors": list(self.predictors)}

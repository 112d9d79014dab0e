"""A small problem with known structure, for tests and examples: no table, no torch.

Genes x_i in {0..k-1}. ``size`` = mean(x)/(k-1) is a cost (think latency); ``error`` falls as the
network grows but with a per-position interaction, so the front is non-trivial and has ties.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from tailor.measure import Evaluator
from tailor.objectives import Objective
from tailor.problems import Problem
from tailor.space import Choice, Config, SearchSpace


class ToyEvaluator(Evaluator):
    metrics = {"error": "min", "size": "min"}

    def __init__(self, k: int, delay_s: float = 0.0, fail: Callable[[Config], bool] | None = None):
        self.k, self.delay_s, self.fail = k, delay_s, fail
        self.calls = 0

    def evaluate(self, configs: Sequence[Config]) -> list[dict[str, float]]:
        out = []
        for c in configs:
            self.calls += 1
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.fail is not None and self.fail(c):
                raise RuntimeError("toy evaluator refuses this configuration")
            x = np.asarray(c["x"], dtype=float) / (self.k - 1)
            size = float(x.mean())
            wiggle = 0.15 * float(np.mean(np.sin(3.0 * x + np.arange(len(x)))))
            out.append({"error": float(1.0 - np.sqrt(size + 1e-9) + wiggle + 0.2), "size": size})
        return out


def toy_problem(n_genes: int = 6, k: int = 4, delay_s: float = 0.0,
                fail: Callable[[Config], bool] | None = None) -> Problem:
    space = SearchSpace([Choice("x", tuple(range(k)), repeat=n_genes, ordered=True)])
    return Problem(
        name="toy", space=space, evaluators=[ToyEvaluator(k, delay_s, fail)],
        objectives=[Objective("error", "min"), Objective("size", "min")],
        settings={"problem": "toy", "n_genes": n_genes, "k": k},
    )


def interrupted_toy_problem(at_call: int, **kwargs) -> Problem:
    """``toy_problem`` whose evaluator raises ``KeyboardInterrupt`` on its ``at_call``-th call (1-based),
    as Ctrl-C or a kill would mid-study: the calls before it finish and are committed."""
    problem = toy_problem(**kwargs)
    evaluator = problem.evaluators[0]
    evaluate, calls = evaluator.evaluate, [0]

    def dying(configs):
        calls[0] += 1
        if calls[0] == at_call:
            raise KeyboardInterrupt
        return evaluate(configs)

    evaluator.evaluate = dying
    return problem

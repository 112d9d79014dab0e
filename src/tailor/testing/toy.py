"""A small problem with known structure, for tests and examples: no table, no torch.

Genes x_i in {0..k-1}. ``size`` = mean(x)/(k-1) is a cost (think latency); ``error`` falls as the
network grows but with a per-position interaction, so the front is non-trivial and has ties.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tailor.errors import ConfigError
from tailor.measure import Evaluator
from tailor.objectives import Objective
from tailor.problems import BuildContext, Problem, register_problem
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
        settings={"n_genes": n_genes, "k": k},
    )


@dataclass(frozen=True)
class ToyOptions:
    """``n_genes`` positions of ``k`` values each; ``delay_s`` per evaluation (to interrupt a run)."""

    n_genes: int = 6
    k: int = 4
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.n_genes <= 64:
            raise ConfigError("toy.n_genes", f"must be in 1..64, got {self.n_genes}")
        if not 2 <= self.k <= 100:
            raise ConfigError("toy.k", f"must be in 2..100, got {self.k}")
        if not 0 <= self.delay_s <= 60:
            raise ConfigError("toy.delay_s", f"must be in [0, 60], got {self.delay_s}")


@register_problem("toy", ToyOptions, "analytic toy problem for tests (import tailor.testing.toy)")
def build_toy(options: ToyOptions, context: BuildContext) -> Problem:
    return toy_problem(options.n_genes, options.k, options.delay_s)


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

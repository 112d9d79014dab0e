"""The peer adapters behind benchmarks/peers/: they measure through tailor's evaluators, count
every evaluation they ask for (repeats included) and stop at the budget."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "peers"))

from tools import TOOLS, Meter  # noqa: E402

from tailor.testing.toy import toy_problem  # noqa: E402


def test_meter_counts_repeats_and_returns_minimisation_vectors():
    problem = toy_problem(n_genes=4, k=3)
    meter = Meter(problem, budget=3)
    cfg = problem.space.from_genes([0, 1, 2, 0])
    a = meter(cfg)
    b = meter(cfg)
    assert (a == b).all() and len(a) == len(problem.objectives)
    assert meter.trace.repeats == 1 and meter.left == 1


@pytest.mark.parametrize("tool", ["pymoo-nsga2", "random", "tailor-default"])
def test_tools_spend_the_budget_exactly(tool):
    problem = toy_problem(n_genes=6, k=4)
    trace = TOOLS[tool](problem, 37, 0)
    assert len(trace.metrics) == len(trace.keys) == 37
    assert trace.wall_s >= trace.eval_s > 0
    if tool != "pymoo-nsga2":  # tailor's tactics never re-measure
        assert trace.repeats == 0
    again = TOOLS[tool](problem, 37, 0)
    assert again.keys == trace.keys  # seeded: the same run twice

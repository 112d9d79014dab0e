"""The peer adapters behind benchmarks/peers/ (``tailor.lab.peers``): they measure through
tailor's evaluators, count every evaluation they ask for (repeats included) and stop at the
budget; the harness resumes from its JSON lines."""

import pytest

from tailor.lab.peers.harness import dynast_jsonl, load, run_all, run_tool, trace_fields
from tailor.lab.peers.tools import TOOLS, Meter
from tailor.testing.toy import toy_problem


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


def _toy_item(tool: str, key: str, seed: int, budget: int) -> dict:
    trace = run_tool(toy_problem(n_genes=4, k=3), tool, budget, seed)
    return {"tool": tool, "key": key, "seed": seed, "budget": budget, "evaluations": len(trace.metrics),
            **trace_fields(trace)}


def test_harness_appends_runs_and_skips_finished_ones(tmp_path):
    jsonl = tmp_path / "runs.jsonl"
    items = [("random", "toy", s, 5) for s in range(2)]
    seen = []
    runs = run_all("unused.py", _toy_item, items, jsonl, 1, False, [], root=tmp_path, on_result=seen.append)
    assert [(r["tool"], r["seed"]) for r in runs] == [("random", 0), ("random", 1)] and len(seen) == 2
    again = run_all("unused.py", _toy_item, items + [("random", "toy", 2, 5)], jsonl, 1, False, [],
                    root=tmp_path, on_result=seen.append)
    assert len(again) == 3 and len(seen) == 3  # only the new item ran
    assert load(jsonl) == again and not dynast_jsonl(jsonl).exists()

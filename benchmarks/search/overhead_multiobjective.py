"""The default tactic's overhead per evaluation with 2, 3 and 4 objectives, measured side by side.

Overhead is wall time per evaluation minus the evaluation itself (a table look-up here): planning,
storing, the tactic's ask. The problems run interleaved, ``--repeats`` rounds, so a busy machine
slows them alike; the ratios to the two-objective run are the result, the absolute numbers only
hold for the load at the time (recorded in ``meta``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/overhead_multiobjective.py [--repeats 2]

Writes ``benchmarks/results/search_generalise/overhead_multiobjective.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tailor.bench import run_one
from tailor.lab.meta import write_result
from tailor.problems.nb201 import resolve_table

OUT = Path(__file__).resolve().parents[1] / "results" / "search_generalise" / "overhead_multiobjective.json"
PROBLEMS = ("latency_ms_pixel3", "latency_ms_pixel3+latency_ms_gold_6226",
            "latency_ms_raspi4+latency_ms_titan_rtx_1+latency_ms_fpga")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args()
    table = str(resolve_table(None))
    ms: dict[str, list[float]] = {p: [] for p in PROBLEMS}
    for rep in range(args.repeats):
        for p in PROBLEMS:
            r = run_one(table, "cifar10_test_acc", p, "default", args.budget, seed=0)
            ms[p].append(r["overhead_s_per_eval"] * 1000)
            print(f"round {rep}: {p:60} {ms[p][-1]:6.1f} ms/eval", flush=True)
    base = np.median(ms[PROBLEMS[0]])
    rows = [{"latency_column": p, "objectives": 2 + p.count("+"), "overhead_ms_per_eval": float(np.median(v)),
             "ratio_to_2_objectives": float(np.median(v) / base), "runs_ms": v} for p, v in ms.items()]
    for r in rows:
        print(f"{r['objectives']} objectives: {r['overhead_ms_per_eval']:6.1f} ms/eval, "
              f"x{r['ratio_to_2_objectives']:.2f} the two-objective run")
    print(f"wrote {write_result(args.json, {'budget': args.budget, 'rows': rows})}")


if __name__ == "__main__":
    main()

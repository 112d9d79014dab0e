"""The default tactic's overhead per evaluation with 2, 3 and 4 objectives, measured side by side.

With ``--against-before``, the tactic as it was before issue 23's predictor validation
(``predictor_choice="ensemble"``) runs interleaved with it, so the cost of the validation is a
ratio measured under the same load.

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
from tailor.search import TailorTactic

OUT = Path(__file__).resolve().parents[1] / "results" / "search_generalise" / "overhead_multiobjective.json"
PROBLEMS = ("latency_ms_pixel3", "latency_ms_pixel3+latency_ms_gold_6226",
            "latency_ms_raspi4+latency_ms_titan_rtx_1+latency_ms_fpga")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--json", type=Path, default=OUT)
    ap.add_argument("--against-before", action="store_true",
                    help="also run the pre-issue-23 tactic (predictor_choice=ensemble), interleaved")
    args = ap.parse_args()
    table = str(resolve_table(None))
    tactics = {"default": "default"}
    if args.against_before:
        tactics["before"] = TailorTactic(predictor_choice="ensemble")
    ms: dict[tuple[str, str], list[float]] = {(t, p): [] for p in PROBLEMS for t in tactics}
    for rep in range(args.repeats):
        for p in PROBLEMS:
            for t, tactic in tactics.items():
                r = run_one(table, "cifar10_test_acc", p, tactic, args.budget, seed=0)
                ms[t, p].append(r["overhead_s_per_eval"] * 1000)
                print(f"round {rep}: {t:8} {p:60} {ms[t, p][-1]:6.1f} ms/eval", flush=True)
    rows = []
    for (t, p), v in ms.items():
        row = {"tactic": t, "latency_column": p, "objectives": 2 + p.count("+"),
               "overhead_ms_per_eval": float(np.median(v)),
               "ratio_to_2_objectives": float(np.median(v) / np.median(ms[t, PROBLEMS[0]])), "runs_ms": v}
        if t != "before" and ("before", p) in ms:
            row["ratio_to_before"] = float(np.median(v) / np.median(ms["before", p]))
        rows.append(row)
    for r in rows:
        print(f"{r['tactic']:8} {r['objectives']} objectives: {r['overhead_ms_per_eval']:6.1f} ms/eval, "
              f"x{r['ratio_to_2_objectives']:.2f} the two-objective run"
              + (f", x{r['ratio_to_before']:.2f} the tactic before" if "ratio_to_before" in r else ""))
    print(f"wrote {write_result(args.json, {'budget': args.budget, 'rows': rows})}")


if __name__ == "__main__":
    main()

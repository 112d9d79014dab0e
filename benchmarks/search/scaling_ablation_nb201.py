"""Ablation of the default tactic's robust scaling on NAS-Bench-201 (every latency column).

``robust``: the default (objectives scaled to the upper Tukey fence, predictor targets clipped
at 1.2). ``min-max``: the tactic as it was before (scaled to the measured range, no clipping),
i.e. ``TailorTactic(fence=None, clip=None)``. Same runs and scoring as ``tailor bench``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/scaling_ablation_nb201.py [--seeds 10 --jobs 2]
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from tailor.bench import run_one, summarise, timestamp
from tailor.problems.nb201 import resolve_table
from tailor.search import TailorTactic

VARIANTS = {"robust": {}, "min-max": {"fence": None, "clip": None}}
OUT = Path(__file__).resolve().parents[1] / "results" / "scaling_ablation_nb201.json"


def run(table: str, column: str, variant: str, seed: int, budget: int) -> dict:
    return run_one(table, "cifar10_test_acc", column, TailorTactic(**VARIANTS[variant]), budget, seed, label=variant)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    table = str(resolve_table(None))
    columns = [c for c in pd.read_csv(table, nrows=1).columns if c.startswith("latency")]
    work = [(table, c, v, s, args.budget) for c in columns for v in VARIANTS for s in range(args.seeds)]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run, *zip(*work, strict=True)))
    rows = summarise(results)
    print(f"{'column':28} {'variant':8} {'HV@100':>7} {'HV@300':>7} {'HV@500':>7} {'to 0.98':>7}")
    for r in rows:
        reach = f"{r['evals_to_98']:7.0f}" if r["evals_to_98"] else f"{'-':>7}"
        print(f"{r['latency_column']:28} {r['tactic']:8} {r['hv@100']:7.4f} {r['hv@300']:7.4f} {r['hv@500']:7.4f} "
              f"{reach}")
    OUT.write_text(json.dumps({"created": timestamp(), "summary": rows, "results": results}, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

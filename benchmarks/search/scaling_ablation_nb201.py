"""Ablation of the default tactic's robust scaling on NAS-Bench-201 (every latency column).

``robust``: the default (objectives scaled to the upper Tukey fence, predictor targets clipped
at 1.2). ``min-max``: the tactic as it was before (scaled to the measured range, no clipping),
i.e. ``TailorTactic(fence=None, clip=None)``. Same seeds, budget and scoring as ``tailor bench``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/scaling_ablation_nb201.py [--seeds 10 --jobs 2]
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from tailor.bench import nb201_scoring, score_trace, timestamp
from tailor.problems.nb201 import resolve_table
from tailor.search import TailorTactic
from tailor.store import open_store
from tailor.study import Study

VARIANTS = {"robust": {}, "min-max": {"fence": None, "clip": None}}
OUT = Path(__file__).resolve().parents[1] / "results" / "scaling_ablation_nb201.json"


def run(table: str, column: str, variant: str, seed: int, budget: int) -> dict:
    problem, ideal, ref, true_hv = nb201_scoring(table, "cifar10_test_acc", column)
    study = Study(problem, TailorTactic(**VARIANTS[variant]), open_store("sqlite://"), name="ablation", seed=seed)
    study.optimize(budget)
    F = np.array([[100.0 - t.metrics["accuracy"], t.metrics["latency_ms"]] for t in study.trials()])
    return {"variant": variant, "latency_column": column, "seed": seed, **score_trace(F, ideal, ref, true_hv, budget)}


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
    rows = []
    print(f"{'column':28} {'variant':8} {'HV@100':>7} {'HV@300':>7} {'HV@500':>7} {'to 0.98':>7}")
    for c in columns:
        for v in VARIANTS:
            rs = [r for r in results if r["latency_column"] == c and r["variant"] == v]
            row = {"latency_column": c, "variant": v, "seeds": len(rs),
                   **{f"hv@{n}": float(np.median([r["hv_ratio"][n] for r in rs])) for n in ("100", "300", "500")},
                   "evals_to_98": float(np.median([r["evals_to_98"] or np.inf for r in rs]))}
            reach = f"{row['evals_to_98']:7.0f}" if np.isfinite(row["evals_to_98"]) else f"{'-':>7}"
            row["evals_to_98"] = row["evals_to_98"] if np.isfinite(row["evals_to_98"]) else None
            rows.append(row)
            print(f"{c:28} {v:8} {row['hv@100']:7.4f} {row['hv@300']:7.4f} {row['hv@500']:7.4f} {reach}")
    OUT.write_text(json.dumps({"created": timestamp(), "summary": rows, "results": results}, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

"""How wrong is the default tactic's predictor on the true-front cells it has not measured yet?

Runs the default tactic for ``--evaluations`` measurements, refits its predictor on them exactly
as its next ask would (``TailorTactic.fit_predictor``), and compares the predictions on the
unmeasured true-front cells with their true values, on the tactic's own scale. A bias much
larger than the ensemble's spread means the optimistic estimate (mean - spread) cannot make
those cells look worth measuring.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/predictor_bias_nb201.py [--seeds 2 --evaluations 300] \
        [--features paths|edges --neighbours 1] [--json OUT]

Writes ``benchmarks/results/search/predictor_bias_nb201.json`` (docs/benchmarks/search.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tailor.bench import nb201_reference
from tailor.lab.meta import write_result
from tailor.objectives import to_minimisation
from tailor.predict import MLPEnsemblePredictor
from tailor.problems import ProblemSpec, build_problem
from tailor.problems.nb201 import NB201_FEATURES
from tailor.search import TailorTactic, pareto_mask
from tailor.search.tailored import robust_bounds
from tailor.store import open_store
from tailor.study import Study

OUT = Path(__file__).resolve().parents[1] / "results" / "search" / "predictor_bias_nb201.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accuracy-column", default="cifar10_test_acc")
    ap.add_argument("--latency-column", default="latency_ms_pixel3")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--evaluations", type=int, default=300)
    ap.add_argument("--features", choices=list(NB201_FEATURES), default="paths")
    ap.add_argument("--neighbours", type=int, default=1)
    ap.add_argument("--json", type=Path, default=OUT)
    args = ap.parse_args()
    problem = build_problem(ProblemSpec("nb201", {"accuracy_column": args.accuracy_column,
                                               "latency_column": args.latency_column}))
    space = problem.space
    genes = space.enumerate_genes()
    metrics = problem.evaluators[0].evaluate([space.from_genes(g) for g in genes])
    F = np.array([[100.0 - m["accuracy"], m["latency_ms"]] for m in metrics])
    true_front = pareto_mask(F) & (F[:, 0] < nb201_reference(F)[1][0])
    F_min = to_minimisation(metrics, problem.objectives)  # the form the tactic's history holds
    rows = []
    for seed in range(args.seeds):
        tactic = TailorTactic(neighbours=args.neighbours, features=NB201_FEATURES[args.features])
        study = Study(problem, tactic, open_store("sqlite://"), seed=seed)
        study.optimize(args.evaluations)
        history = study.history
        Fn, model = tactic.fit_predictor(history, seed)
        lo, span = robust_bounds(history.F, tactic.fence)
        todo = true_front & ~history.is_seen(genes)
        truth = (F_min[todo] - lo) / span
        mean, std = model.predict(tactic.features(genes[todo]))
        front = Fn[pareto_mask(Fn)]
        optimistic = mean - tactic.kappa * std
        hidden = np.any(np.all(front[None, :, :] <= optimistic[:, None, :], axis=2), axis=1)
        row = {"seed": seed, "evaluations": args.evaluations, "unmeasured_front_cells": int(todo.sum()),
               "bias": (mean - truth).mean(axis=0).tolist(), "mae": np.abs(mean - truth).mean(axis=0).tolist(),
               "spread_median": np.median(std, axis=0).tolist(),
               "optimistic_dominated_share": float(hidden.mean())}
        rows.append(row)
        print(f"seed {seed}: {row['unmeasured_front_cells']} unmeasured front cells; (error, latency) "
              f"bias {np.round(row['bias'], 3)}, MAE {np.round(row['mae'], 3)}, median spread "
              f"{np.round(row['spread_median'], 3)}; optimistic estimate dominated by the measured "
              f"front for {row['optimistic_dominated_share']:.0%}", flush=True)
    out = write_result(args.json, {"latency_column": args.latency_column, "predictor": MLPEnsemblePredictor.name,
                                   "features": args.features, "neighbours": args.neighbours, "rows": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

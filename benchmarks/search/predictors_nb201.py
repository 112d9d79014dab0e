"""Held-out quality of each predictor on NAS-Bench-201: Kendall tau and MAPE per objective.

Trains on n random cells (n = 50, 100, 200, 300), tests on all the others, for 3 seeds; also
reports tau among the top cells (accuracy > 90 %), which is what finding the front needs.
``--features``: ``paths`` (the space's default, ``path_features``) or ``edges``
(``live_edge_onehot``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search/predictors_nb201.py [--latency-column C] \
        [--features paths|edges] [--json OUT]

Writes ``benchmarks/results/predictors/predictors_nb201_<features>.json`` (docs/benchmarks/predictors.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tailor.lab.meta import write_result
from tailor.predict import PREDICTORS, make_predictor, score_predictor
from tailor.problems import ProblemSpec, build_problem
from tailor.problems.nb201 import NB201_FEATURES

RESULTS = Path(__file__).resolve().parents[1] / "results" / "predictors"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accuracy-column", default="cifar10_test_acc")
    ap.add_argument("--latency-column", default="latency_ms_pixel3")
    ap.add_argument("--features", choices=list(NB201_FEATURES), default="paths")
    ap.add_argument("--json", type=Path, default=None, help="default: predictors_nb201_<features>.json")
    args = ap.parse_args()
    args.json = args.json or RESULTS / f"predictors_nb201_{args.features}.json"
    problem = build_problem(ProblemSpec("nb201", {"accuracy_column": args.accuracy_column,
                                               "latency_column": args.latency_column}))
    space = problem.space
    genes = space.enumerate_genes()
    metrics = problem.evaluators[0].evaluate([space.from_genes(g) for g in genes])
    acc = np.array([m["accuracy"] for m in metrics])
    lat = np.array([m["latency_ms"] for m in metrics])
    X = NB201_FEATURES[args.features](genes)
    rows = []
    for n in (50, 100, 200, 300):
        for name in PREDICTORS:
            scores = []
            for seed in range(3):
                rng = np.random.default_rng(seed)
                train = rng.choice(len(genes), n, replace=False)
                test = np.setdiff1d(np.arange(len(genes)), train)
                top = test[acc[test] > 90]
                a = make_predictor(name, seed).fit(X[train], acc[train]).predict(X)[0]
                t = make_predictor(name, seed).fit(X[train], lat[train]).predict(X)[0]
                sa, st, stop = score_predictor(acc[test], a[test]), score_predictor(lat[test], t[test]), \
                    score_predictor(acc[top], a[top])
                scores.append([sa["kendall_tau"], sa["mape"], stop["kendall_tau"], st["kendall_tau"], st["mape"]])
            m = np.median(np.array(scores), axis=0)
            rows.append({"n_train": n, "predictor": name, "accuracy_tau": m[0], "accuracy_mape": m[1],
                         "accuracy_tau_top": m[2], "latency_tau": m[3], "latency_mape": m[4]})
            print(f"n={n:3d} {name:13s} accuracy tau {m[0]:.3f} (top {m[2]:.3f}) MAPE {m[1]:.2f}%  "
                  f"latency tau {m[3]:.3f} MAPE {m[4]:.1f}%", flush=True)
    out = write_result(args.json, {"latency_column": args.latency_column, "features": args.features, "rows": rows})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
